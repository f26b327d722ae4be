"""Users, passwords, API tokens and the Actor a signed-in user acts as; the demo seed."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from service.domain.access import Actor, require_admin
from service.domain.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from service.operations.context import Govflow
from service.storage.models import ApiToken, Unit, User, utcnow

ROLES = frozenset({"department", "leader", "reviewer", "supervisor", "auditor", "designer", "admin"})
TOKEN_DAYS = 7
# A fixed hash to compare against when the user does not exist, so a login for an unknown name
# costs the same time as one with a wrong password (no user enumeration by timing).
_DUMMY_HASH = generate_password_hash("govflow-no-such-user", method="scrypt")


class Unauthenticated(Forbidden):
    """No valid credentials (HTTP 401)."""

    code = "unauthenticated"


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    unit: str | None
    roles: list[str]

    def actor(self) -> Actor:
        return Actor(self.username, self.unit, frozenset(self.roles))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name, "unit": self.unit,
                "roles": self.roles}


def _view(user: User) -> UserView:
    return UserView(user.id, user.username, user.display_name, user.unit.name if user.unit else None,
                    sorted(user.roles or []))


def _check_roles(roles: Iterable[str]) -> list[str]:
    out = sorted(set(roles))
    bad = [r for r in out if r not in ROLES]
    if bad:
        raise ValidationFailed([FieldError("roles", f"未知角色 {'、'.join(bad)}")])
    return out


def create_user(ctx: Govflow, username: str, *, unit: str | None, roles: Iterable[str], password: str | None,
                display_name: str | None = None, actor: Actor | None = None,
                oidc_subject: str | None = None) -> UserView:
    if actor is not None:
        require_admin(actor)
    with ctx.db.session() as s:
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"用户 {username} 已存在")
        unit_row = None
        if unit:
            unit_row = s.scalar(select(Unit).where(Unit.name == unit))
            if unit_row is None:
                raise NotFound(f"单位 {unit} 不存在")
        user = User(username=username, display_name=display_name or username, unit_id=unit_row.id if unit_row else None,
                    unit=unit_row, roles=_check_roles(roles), oidc_subject=oidc_subject,
                    password_hash=generate_password_hash(password, method="scrypt") if password else None)
        s.add(user)
        s.flush()
        return _view(user)


def authenticate(ctx: Govflow, username: str, password: str) -> UserView:
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        ok = check_password_hash(stored, password)
        if user is None or not user.active or not user.password_hash or not ok:
            raise Unauthenticated("用户名或密码错误")
        return _view(user)


def get_user(ctx: Govflow, user_id: int) -> UserView | None:
    with ctx.db.session() as s:
        user = s.get(User, user_id)
        return _view(user) if user is not None and user.active else None


def user_in_unit(session: Session, username: str, unit: str) -> bool:
    return session.scalar(select(User.id).join(Unit, User.unit_id == Unit.id)
                          .where(User.username == username, Unit.name == unit, User.active.is_(True))) is not None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(ctx: Govflow, user_id: int, *, days: int = TOKEN_DAYS) -> tuple[str, dt.datetime]:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=days)
    with ctx.db.session() as s:
        s.add(ApiToken(token_hash=_token_hash(token), user_id=user_id, expires_at=expires))
    return token, expires


def revoke_token(ctx: Govflow, token: str) -> None:
    with ctx.db.session() as s:
        s.execute(delete(ApiToken).where(ApiToken.token_hash == _token_hash(token)))


def user_for_token(ctx: Govflow, token: str) -> UserView | None:
    with ctx.db.session() as s:
        row = s.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                        .where(ApiToken.token_hash == _token_hash(token))).first()
        if row is None or row[0].expires_at < utcnow() or not row[1].active:
            return None
        return _view(row[1])


def user_from_claims(ctx: Govflow, claims: Mapping[str, Any]) -> UserView:
    """OIDC callback: map the identity provider's claims onto a govflow user. The provider proves
    who the person is; units and roles stay govflow's own, so an unknown person is refused rather
    than created with guessed rights. The first sign-in binds `sub` to the user named by
    `preferred_username`; later sign-ins match on `sub` only."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise Unauthenticated("身份提供方未返回用户标识")
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.oidc_subject == subject))
        if user is None:
            name = claims.get("preferred_username")
            user = s.scalar(select(User).where(User.username == name)) if name else None
            if user is None or user.oidc_subject is not None:
                raise Forbidden("该统一身份认证账号未在本系统登记，请联系系统管理员")
            user.oidc_subject = subject
        if not user.active:
            raise Forbidden("账号已停用")
        return _view(user)


# -- demo seed -----------------------------------------------------------------------------------
DEMO_PASSWORD = "govflow-demo"
# (username, unit, roles, display name): every participant lane, three 建设单位, one user per role.
DEMO_USERS: list[tuple[str, str | None, list[str], str]] = [
    ("edu", "市教育局", ["department"], "市教育局经办人"),
    ("edu_leader", "市教育局", ["leader"], "市教育局分管领导"),
    ("health", "市卫生健康委员会", ["department"], "市卫健委经办人"),
    ("nature", "市自然资源和规划局", ["department"], "市自然资源和规划局经办人"),
    ("civil", "市民政局", ["department"], "市民政局经办人"),
    ("bigdata", "市大数据局", ["reviewer"], "市大数据局审核人"),
    ("finance", "市财政局", ["reviewer"], "市财政局审核人"),
    ("cac", "市委网信办", ["reviewer"], "市委网信办审核人"),
    ("police", "市公安局", ["reviewer"], "市公安局审核人"),
    ("crypto", "市密码管理局", ["reviewer"], "市密码管理局审核人"),
    ("gov", "市政府", ["leader"], "市政府审批人"),
    ("supervisor", "市大数据局", ["supervisor"], "市大数据局督办"),
    ("auditor", "市审计局", ["auditor"], "市审计局审计人员"),
    ("designer", None, ["designer"], "流程设计人员"),
    ("admin", None, ["admin"], "系统管理员"),
]


def seed_demo_users(ctx: Govflow, password: str = DEMO_PASSWORD) -> list[UserView]:
    out = []
    with ctx.db.session() as s:
        existing = set(s.scalars(select(User.username)))
    for username, unit, roles, display in DEMO_USERS:
        if username not in existing:
            out.append(create_user(ctx, username, unit=unit, roles=roles, password=password, display_name=display))
    return out
