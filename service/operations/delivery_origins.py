"""Which request queued each delivery: the id stamped on its notification's payload by
notifications.insert_batch. The tick passes it to `govflow.deliver` as a task header, so the
worker's log lines for that send carry the id of the HTTP request (or tick) that caused it."""
from __future__ import annotations

from sqlalchemy import select

from service.operations.context import Govflow
from service.storage.models import Delivery, Notification


def origins(ctx: Govflow, delivery_ids: list[int]) -> dict[int, str]:
    if not delivery_ids:
        return {}
    with ctx.db.session() as s:
        rows = s.execute(select(Delivery.id, Notification.payload)
                         .join(Notification, Notification.id == Delivery.notification_id)
                         .where(Delivery.id.in_(delivery_ids))).all()
    return {i: str(p["request_id"]) for i, p in rows if isinstance(p, dict) and p.get("request_id")}
