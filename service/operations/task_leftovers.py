"""What hangs off a work item and must end with it when the task is cancelled (退回, 撤回, or the
process withdrawing it itself): the drafts typed into it, its open 加签 requests and a 后加签 hold.
Called inside the transaction that cancels the row, so no signer is left waiting on a task that
is gone and nobody restores a draft of it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from service.storage.models import Countersign, CountersignHold, TaskDraft


def end_with_task(session: Session, work_item_id: int, *, by: str, at: dt.datetime) -> None:
    session.execute(delete(TaskDraft).where(TaskDraft.work_item_id == work_item_id)
                    .execution_options(synchronize_session=False))
    session.execute(delete(CountersignHold).where(CountersignHold.work_item_id == work_item_id)
                    .execution_options(synchronize_session=False))
    session.execute(update(Countersign)
                    .where(Countersign.work_item_id == work_item_id, Countersign.state == "open")
                    .values(state="cancelled", cancelled_by=by, cancelled_at=at)
                    .execution_options(synchronize_session=False))
