"""Administering people (docs/people.md): create a user, edit 姓名 / phone / e-mail / unit / roles,
deactivate and reactivate, reset the password. Admins only; every change is recorded as a security
event and, for a user of a unit, on that unit's audit chain (both units when the user moves).

All writes take one named lock first, then the units, then the user's row: two admins editing the
same user queue instead of failing, and "the last active admin" is judged by one writer at a time
(two admins deactivating each other at once cannot both succeed)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from service.domain.access import WORKER_ROLES, Actor, require_admin
from service.domain.errors import BadField, Conflict, FieldError, NotFound
from service.operations import audit, security_events, sign_in_throttle
from service.operations.context import Govflow
from service.operations.identity import ROLES, password_problems
from service.storage import locks
from service.storage.models import ApiToken, Unit, User, WebSession, utcnow

ROLE_LABELS = {"department": "经办人", "leader": "领导", "reviewer": "审核人", "supervisor": "督办",
               "auditor": "审计", "designer": "流程设计", "admin": "系统管理员"}
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,49}")
# Mobile (11 digits) or a fixed line with area code (0546-8123456), optional extension.
PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
EDITABLE = ("display_name", "phone", "email", "unit", "roles")
_LOCK = "user_admin"


def admin_view(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "unit": user.unit.name if user.unit else None, "roles": sorted(user.roles or []),
            "phone": user.phone or "", "email": user.email or "", "active": bool(user.active),
            "password_set": user.password_hash is not None, "oidc": user.oidc_subject is not None,
            "created_at": user.created_at.isoformat() if user.created_at else None}


def list_users(ctx: Govflow, actor: Actor) -> list[dict[str, Any]]:
    require_admin(actor)
    with ctx.db.session() as s:
        return [admin_view(u) for u in s.scalars(select(User).order_by(User.unit_id.is_(None), User.unit_id,
                                                                       User.username))]


def list_units(ctx: Govflow, actor: Actor) -> list[dict[str, Any]]:
    require_admin(actor)
    with ctx.db.session() as s:
        return [{"id": u.id, "name": u.name, "kind": u.kind} for u in s.scalars(select(Unit).order_by(Unit.id))]


# -- validation ---------------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str, label: str, errors: list[FieldError], *, max_length: int,
          required: bool = False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(FieldError(key, f"{label}：应为文本"))
        return ""
    value = value.strip()
    if required and not value:
        errors.append(FieldError(key, f"{label}：不能为空"))
    elif len(value) > max_length:
        errors.append(FieldError(key, f"{label}：不能超过 {max_length} 个字符"))
    return value


def _fields(s: Session, data: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The editable fields present in `data`, checked; BadField (400) naming each bad field."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    if "display_name" in keys:
        out["display_name"] = _text(data, "display_name", "姓名", errors, max_length=50, required=True)
    if "phone" in keys:
        phone = _text(data, "phone", "电话", errors, max_length=40)
        if phone and not PHONE.fullmatch(phone):
            errors.append(FieldError("phone", "电话：应为 11 位手机号或带区号的固定电话（如 0546-8123456）"))
        out["phone"] = phone
    if "email" in keys:
        email = _text(data, "email", "电子邮箱", errors, max_length=200)
        if email and not EMAIL.fullmatch(email):
            errors.append(FieldError("email", "电子邮箱：格式不正确（如 zhang.wei@example.gov.cn）"))
        out["email"] = email
    if "unit" in keys:
        name = _text(data, "unit", "单位", errors, max_length=100)
        unit = s.scalar(select(Unit).where(Unit.name == name)) if name else None
        if name and unit is None:
            errors.append(FieldError("unit", f"单位：{name} 不存在"))
        out["unit"] = unit
    if "roles" in keys:
        roles = data.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            errors.append(FieldError("roles", "角色：应为角色列表"))
            roles = []
        bad = sorted({r for r in roles if r not in ROLES})
        if bad:
            errors.append(FieldError("roles", f"角色：未知角色 {'、'.join(bad)}"))
        elif not roles:
            errors.append(FieldError("roles", "角色：至少选择一个"))
        out["roles"] = sorted(set(roles))
    if errors:
        raise BadField(errors, errors[0].message)
    return out


_NEEDS_UNIT = "单位：经办人、领导、审核人须属于一个单位"


def _check_unit_for_roles(roles: list[str], unit: Unit | None) -> None:
    # A worker role without a unit would see no inbox and could act in no lane.
    if set(roles) & WORKER_ROLES and unit is None:
        raise BadField([FieldError("unit", _NEEDS_UNIT)], _NEEDS_UNIT)


def _check_password(password: Any, username: str) -> str:
    if not isinstance(password, str) or not password:
        raise BadField([FieldError("password", "初始密码：不能为空")], "初始密码：不能为空")
    problems = [p.replace("新密码", "初始密码", 1) for p in password_problems(password, username)]
    if problems:
        raise BadField([FieldError("password", p) for p in problems], problems[0])
    return password


# -- writes ---------------------------------------------------------------------------------------------


def _units(s: Session, ids: set[int | None]) -> dict[int, Unit]:
    # Ascending id, each locked: their audit chains grow in this transaction.
    out = {}
    for uid in sorted(i for i in ids if i is not None):
        unit = locks.unit(s, uid)
        if unit is not None:
            out[uid] = unit
    return out


def _locked_user(s: Session, username: str) -> User:
    user = s.scalars(select(User).where(User.username == username).with_for_update(of=User)
                     .execution_options(populate_existing=True)).first()
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user


def _record(ctx: Govflow, s: Session, units: dict[int, Unit], actor: Actor, action: str, username: str,
            detail: dict[str, Any], address: str | None) -> None:
    security_events.record(s, action, username=username, address=address, detail={"by": actor.user, **detail})
    for unit in units.values():
        audit.append_unit(s, unit, actor=actor.user, action=action, detail={"username": username, **detail},
                          algorithm=ctx.settings.audit_hash)


def _other_active_admins(s: Session, user_id: int) -> int:
    return sum(1 for roles in s.scalars(select(User.roles).where(User.active.is_(True), User.id != user_id))
               if "admin" in (roles or []))


def create(ctx: Govflow, actor: Actor, data: Mapping[str, Any], *, address: str | None = None) -> dict[str, Any]:
    require_admin(actor)
    username = data.get("username")
    if not isinstance(username, str) or not USERNAME.fullmatch(username.strip()):
        raise BadField([FieldError("username", "用户名：2–50 个字母、数字或 . _ -，以字母或数字开头")],
                       "用户名：2–50 个字母、数字或 . _ -，以字母或数字开头")
    username = username.strip()
    password = _check_password(data.get("password"), username)
    try:
        with ctx.db.session() as s:
            locks.named(s, _LOCK)
            fields = _fields(s, {"unit": None, **data}, EDITABLE)
            unit: Unit | None = fields.pop("unit")
            _check_unit_for_roles(fields["roles"], unit)
            units = _units(s, {unit.id if unit else None})
            if s.scalar(select(User.id).where(User.username == username)) is not None:
                raise Conflict("用户名已存在", field="username")
            user = User(username=username, unit_id=unit.id if unit else None, unit=unit,
                        password_hash=generate_password_hash(password, method="scrypt"), active=True, **fields)
            s.add(user)
            s.flush()
            _record(ctx, s, units, actor, "user_created", username,
                    {"display_name": user.display_name, "unit": unit.name if unit else None,
                     "roles": user.roles}, address)
            return admin_view(user)
    except IntegrityError as exc:  # a second writer outside this module (the CLI, the demo seed)
        raise Conflict("用户名已存在", field="username") from exc


def update(ctx: Govflow, actor: Actor, username: str, data: Mapping[str, Any], *,
           address: str | None = None) -> dict[str, Any]:
    require_admin(actor)
    keys = tuple(k for k in EDITABLE if k in data)
    with ctx.db.session() as s:
        locks.named(s, _LOCK)
        current = s.scalar(select(User.unit_id).where(User.username == username))
        fields = _fields(s, data, keys)
        moves = "unit" in fields
        new_unit: Unit | None = fields.pop("unit", None)
        units = _units(s, {current, new_unit.id if new_unit else None})
        user = _locked_user(s, username)
        _check_unit_for_roles(fields.get("roles", user.roles or []), new_unit if moves else user.unit)
        if "roles" in fields and "admin" in (user.roles or []) and "admin" not in fields["roles"] \
                and user.active and _other_active_admins(s, user.id) == 0:
            raise Conflict("不能取消最后一位系统管理员的管理员角色", field="roles")
        changes: dict[str, Any] = {}
        for key, value in fields.items():
            old = getattr(user, key)
            if (sorted(old or []) if key == "roles" else old) != value:
                changes[key] = [old if key != "roles" else sorted(old or []), value]
                setattr(user, key, value)
        if moves and (new_unit.id if new_unit else None) != user.unit_id:
            changes["unit"] = [user.unit.name if user.unit else None, new_unit.name if new_unit else None]
            user.unit_id = new_unit.id if new_unit else None
            user.unit = new_unit
        if changes:
            if "unit" in changes or "roles" in changes:
                # Rights changed: sessions resolve roles afresh each request, but a task claimed under
                # the old unit is the holder's business; signing the user out makes the change plain.
                _end_sessions(s, user.id)
            _record(ctx, s, units, actor, "user_updated", username, {"changes": changes}, address)
        return admin_view(user)


def _end_sessions(s: Session, user_id: int) -> None:
    s.execute(delete(WebSession).where(WebSession.user_id == user_id))
    s.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


def set_active(ctx: Govflow, actor: Actor, username: str, active: bool, *,
               address: str | None = None) -> dict[str, Any]:
    """Deactivate (every session and token of the user ends at once) or reactivate."""
    require_admin(actor)
    if not active and username == actor.user:
        raise Conflict("不能停用自己的账号", field="active")
    with ctx.db.session() as s:
        locks.named(s, _LOCK)
        unit_id = s.scalar(select(User.unit_id).where(User.username == username))
        units = _units(s, {unit_id})
        user = _locked_user(s, username)
        if user.active == active:
            return admin_view(user)
        if not active and "admin" in (user.roles or []) and _other_active_admins(s, user.id) == 0:
            raise Conflict("不能停用最后一位系统管理员", field="active")
        user.active = active
        if not active:
            _end_sessions(s, user.id)
        _record(ctx, s, units, actor, "user_reactivated" if active else "user_deactivated", username, {}, address)
        return admin_view(user)


def reset_password(ctx: Govflow, actor: Actor, username: str, password: Any, *,
                   address: str | None = None) -> dict[str, Any]:
    """A new password set by the admin: the policy applies, every session and token ends, the
    sign-in lock of the account is lifted."""
    require_admin(actor)
    new = _check_password(password, username)
    with ctx.db.session() as s:
        locks.named(s, _LOCK)
        unit_id = s.scalar(select(User.unit_id).where(User.username == username))
        units = _units(s, {unit_id})
        user = _locked_user(s, username)
        user.password_hash = generate_password_hash(new, method="scrypt")
        _end_sessions(s, user.id)
        _record(ctx, s, units, actor, "password_reset", username, {}, address)
        view = admin_view(user)
    sign_in_throttle.record_success(ctx, username, utcnow())
    return view
