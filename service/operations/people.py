"""People, not usernames (docs/people.md): the display name (姓名) beside every username a response
carries, resolved for the whole response in one SELECT of the users it names."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage.models import Unit, User

# Keys whose value is a username wherever they appear in a response; each gains "<key>_name".
USER_KEYS = ("assignee", "completed_by", "declared_by", "delegated_by", "actor", "author", "uploaded_by",
             "opened_by", "closed_by", "deployed_by")
# Audit actions whose detail "to" is a person (elsewhere "to" is a task id: 退回).
_TO_PERSON = frozenset({"task_reassigned", "task_delegated", "task_delegation_returned"})
# Actors that are not people: the engine and its timers, the operator CLI.
_NOT_PEOPLE = {"system": "系统", "operator": "运维操作"}


def names(session: Session, usernames: Iterable[str]) -> dict[str, dict[str, str | None]]:
    """username → {name, unit} for the users among `usernames` (one query; inactive ones too: a
    step someone did stays theirs after they leave)."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    query = (select(User.username, User.display_name, Unit.name)
             .outerjoin(Unit, Unit.id == User.unit_id).where(User.username.in_(wanted)))
    if not session.in_transaction():
        # Called after the caller's `with ctx.db.session()` block ended: a query on that session
        # would begin a transaction nobody ends (on SQLite, BEGIN IMMEDIATE: every writer then
        # waits for it). Read in a transaction of our own that ends here.
        with Session(session.get_bind()) as own, own.begin():
            return {u: {"name": d or u, "unit": unit} for u, d, unit in own.execute(query)}
    return {u: {"name": d or u, "unit": unit} for u, d, unit in session.execute(query)}


def name_of(session: Session | None, username: str) -> str:
    """One person's name for a message ("该任务已由 王晓燕 认领"); the username when unknown."""
    if session is None:
        return username
    return (names(session, [username]).get(username) or {}).get("name") or username


# "detail" is handled above; "schema" is a form's JSON Schema (the task page's largest part): no
# usernames in it, and it is the cached form object, not to be written into.
_NOT_WALKED = frozenset({"detail", "schema"})


def _walk(value: Any, found: set[str], fill: dict[str, dict[str, str | None]] | None) -> None:
    if isinstance(value, list):
        for v in value:
            _walk(v, found, fill)
        return
    if not isinstance(value, dict):
        return
    pairs = [(k, value[k]) for k in USER_KEYS if isinstance(value.get(k), str)]
    detail = value.get("detail")
    if value.get("action") in _TO_PERSON and isinstance(detail, dict) and isinstance(detail.get("to"), str):
        pairs.append(("to", detail["to"]))
    if isinstance(detail, dict) and isinstance(detail.get("on_behalf_of"), str):  # 代理: whose task it was
        pairs.append(("on_behalf_of", detail["on_behalf_of"]))
    for key, username in pairs:
        if fill is None:
            found.add(username)
        else:
            person = fill.get(username)
            value[f"{key}_name"] = (person["name"] if person else _NOT_PEOPLE.get(username, username))
    for k, v in list(value.items()):
        if isinstance(v, (dict, list)) and k not in _NOT_WALKED:
            _walk(v, found, fill)


def add_names(session: Session, payload: Any) -> Any:
    """Add "<key>_name" beside every username key (USER_KEYS) anywhere in `payload`, in place;
    returns it. Unknown names stay as they are (a system actor gets 系统)."""
    found: set[str] = set()
    _walk(payload, found, None)
    _walk(payload, found, names(session, found))
    return payload
