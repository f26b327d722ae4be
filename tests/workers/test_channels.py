"""Channels against real receivers on loopback: SMTP (aiosmtpd) and an HTTP webhook receiver.
Runs on both backends; no Celery involved (the worker task is a thin wrapper over deliver)."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from service.channels import webhook
from service.channels.config import ChannelSettings
from service.operations import notifications, reminders
from service.storage.models import Delivery
from tests.operations.test_reminders import bj, first_task
from tests.workers.conftest import free_port

SECRET = "s3cret-for-tests"


def cfg_for(smtp_port: int, hook_url: str, **kw) -> ChannelSettings:  # type: ignore[no-untyped-def]
    base = dict(smtp_host="127.0.0.1", smtp_port=smtp_port, webhook_url=hook_url, webhook_secret=SECRET,
                base_url="https://govflow.dongying.gov.cn", max_attempts=3, backoff_seconds=0.0, timeout_seconds=5)
    base.update(kw)
    return ChannelSettings(**base)


def test_email_and_signed_webhook_carry_the_escalation(ctx, driver, smtp_sink, webhook_sink):
    sink, smtp_port = smtp_sink
    hooks, url = webhook_sink
    cfg = cfg_for(smtp_port, url)
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    r = reminders.tick(ctx, bj("2026-05-07"), cfg=cfg)  # 3 working days overdue: levels 1 and 2
    assert (r.notifications, r.deliveries) == (2, 4)
    ids = notifications.due_deliveries(ctx, cfg)
    assert len(ids) == 4 and notifications.due_deliveries(ctx, cfg) == []  # leased while queued
    assert sorted(notifications.deliver(ctx, i, cfg) for i in ids) == ["sent"] * 4
    assert [notifications.deliver(ctx, i, cfg) for i in ids] == ["skipped"] * 4  # idempotent
    mails = sorted(sink.messages, key=lambda m: m["to"])
    assert [m["to"] for m in mails] == ["duban@bigdata.example", "leader@unit.example"]
    level2 = mails[0]
    assert level2["subject"].startswith("【逾期督办·2级】") and "已逾期 3 个工作日" in level2["subject"]
    for text in ("项目：", item.title, "办理时限：2026-04-29", "已逾期：3 个工作日",
                 f"https://govflow.dongying.gov.cn/tasks/{item.id}"):
        assert text in level2["body"]
    assert len(set(sink.ids())) == 2 and all(i.startswith("<govflow-delivery-") for i in sink.ids())
    assert len(hooks.requests) == 2
    for headers, body in hooks.requests:
        assert webhook.verify(SECRET, headers["X-Govflow-Timestamp"], body, headers["X-Govflow-Signature"])
        assert not webhook.verify("wrong", headers["X-Govflow-Timestamp"], body, headers["X-Govflow-Signature"])
        payload = json.loads(body)
        assert payload["kind"] == "escalation" and payload["due_date"] == "2026-04-29"
        assert headers["X-Govflow-Delivery"].startswith("govflow-delivery-")


def test_channel_failures_retry_with_backoff_and_end_visible(ctx, driver, webhook_sink):
    hooks, url = webhook_sink
    hooks.status = 500
    dead_smtp = free_port()  # nothing listens here
    cfg = cfg_for(dead_smtp, url, max_attempts=2, backoff_seconds=0.0)
    first_task(ctx, driver, dt.date(2026, 4, 29))
    reminders.tick(ctx, bj("2026-04-29", 9), cfg=cfg)  # one 到期提醒: e-mail + webhook
    ids = notifications.due_deliveries(ctx, cfg)
    assert [notifications.deliver(ctx, i, cfg) for i in ids] == ["pending", "pending"]
    assert [notifications.deliver(ctx, i, cfg) for i in ids] == ["failed", "failed"]
    failed = notifications.failed_deliveries(ctx)
    assert {d.channel for d in failed} == {"email", "webhook"}
    errors = {d.channel: d.last_error for d in failed}
    assert "HTTP 500" in errors["webhook"] and "ConnectionRefused" in errors["email"]
    # With a real backoff the retry waits.
    slow = cfg_for(dead_smtp, url, backoff_seconds=600.0)
    notifications.retry_failed(ctx, failed[0].id)
    assert notifications.deliver(ctx, failed[0].id, slow) == "pending"
    assert notifications.due_deliveries(ctx, slow) == []
    with ctx.db.session() as s:
        d = s.get(Delivery, failed[0].id)
        assert d.next_attempt_at > dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=500)
        assert s.scalar(select(Delivery).where(Delivery.status == "sent")) is None
