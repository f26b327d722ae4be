"""Messages that people's actions on a task send (催办, 延期申请 and its decision), through the same
outbox as the deadline tick: an in-app notification for the addressed unit and an e-mail delivery
per contact of its role, inserted in the action's transaction (service.operations.notifications).

The outbox is unique on (task, kind, level); these messages use the id of the urge or request
as their level, so each action is one message and a retried transaction never sends two."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from service.channels.config import ChannelSettings
from service.operations import notifications
from service.storage.models import Project, WorkItem

TITLES = {"urge": "催办", "extension_requested": "延期申请", "extension_decided": "延期申请结果"}


def due_zh(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "无期限"


def queue(session: Session, *, item: WorkItem, project: Project, kind: str, level: int, unit_id: int,
          unit_name: str, role: str, subject: str, opening: str, lead: str, facts: list[str],
          now: dt.datetime, cfg: ChannelSettings | None = None) -> int:
    """Queue one message; returns the number of e-mail/webhook deliveries created."""
    cfg = cfg or ChannelSettings()
    link = f"{cfg.base_url.rstrip('/')}/tasks/{item.id}"
    due = item.due_date.isoformat() if item.due_date else "—"
    lines = [opening, "", f"项目：{project.name}（{project.code}）", f"事项：{item.title}（{item.stage}）",
             f"承办单位：{item.unit.name}",
             f"办理时限：{due}（北京时间当日 24 时前）" if item.due_date else "办理时限：无期限", *facts,
             "", f"请登录系统查看：{link}", "",
             "东营市政务数字化项目管理系统", "（本邮件由系统自动发送，请勿直接回复。）"]
    payload: dict[str, Any] = {
        "kind": kind, "title": TITLES[kind], "level": level, "project_id": project.id, "project_code": project.code,
        "project_name": project.name, "work_item_id": item.id, "task": item.task_name, "task_title": item.title,
        "unit": item.unit.name, "due_date": due, "overdue_working_days": 0, "link": link, "article": None,
        "recipient_unit": unit_name, "lead": lead}
    row = {"work_item_id": item.id, "project_id": project.id, "kind": kind, "level": level, "unit_id": unit_id,
           "recipient_role": role, "subject": subject[:300], "body": "\n".join(lines) + "\n", "payload": payload,
           "created_at": now}
    return notifications.insert_batch(session, cfg, [row])
