"""Users, passwords (sign-in throttled, policy on change), API tokens and the Actor a signed-in
user acts as; the demo seed. Browser sessions are in service.operations.sessions."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from service.domain.access import Actor, may_declare, require_admin
from service.domain.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from service.operations import security_events, sign_in_throttle
from service.operations.context import Govflow
from service.storage.models import ApiToken, Unit, User, WebSession, utcnow

PASSWORD_MIN_LENGTH = 10
ROLES = frozenset({"department", "leader", "reviewer", "supervisor", "auditor", "designer", "admin"})
TOKEN_DAYS = 7
# A fixed hash to compare against when the user does not exist, so a login for an unknown name
# costs the same time as one with a wrong password (no user enumeration by timing). Written out,
# not generated at import: scrypt took 80 ms of every process start (CLI, workers, the first
# completion of a benchmark). Its parameters are the ones generate_password_hash uses today
# (tests/http/test_api_auth.py checks that they still are).
_DUMMY_HASH = ("scrypt:32768:8:1$UMq7h94NRon4Y47P$945de34e1b0f411af3675cf881911ee7466f30950d2acda1e7535c87500"
               "28b518dc01ff54a90a60ad9d6c8198096f01f168cde615646d48669f43091f7262d61")


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
    unit_kind: str | None = None

    def actor(self) -> Actor:
        return Actor(self.username, self.unit, frozenset(self.roles))

    @property
    def may_declare(self) -> bool:
        # The pages offer 申报项目 exactly where the API would accept it (第六条、第七条(一)).
        return self.unit_kind is not None and may_declare(self.actor(), self.unit_kind)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name, "unit": self.unit,
                "roles": self.roles}


def user_view(user: User) -> UserView:
    return _view(user.id, user.username, user.display_name, user.unit.name if user.unit else None, user.roles,
                 user.unit.kind if user.unit else None)


def _view(user_id: int, username: str, display_name: str, unit: str | None, roles: list[Any] | None,
          unit_kind: str | None) -> UserView:
    return UserView(user_id, username, display_name, unit, sorted(roles or []), unit_kind)


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
        return user_view(user)


def authenticate(ctx: Govflow, username: str, password: str, *, address: str | None = None,
                 now: dt.datetime | None = None) -> UserView:
    """Check a password, throttled per account and per client address (sign_in_throttle): while
    either is locked the answer is TooManyAttempts whatever the password."""
    now = now or utcnow()
    sign_in_throttle.check(ctx, username, address, now)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        ok = check_password_hash(stored, password)
        view = user_view(user) if user is not None and user.active and user.password_hash and ok else None
    if view is None:
        sign_in_throttle.record_failure(ctx, username, address, now)
        raise Unauthenticated("用户名或密码错误")
    sign_in_throttle.record_success(ctx, username, now)
    return view


def password_problems(password: str, username: str) -> list[str]:
    """The minimum policy for a new password (等保 asks for complexity), as zh-CN messages."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"新密码：至少 {PASSWORD_MIN_LENGTH} 个字符")
    if len(password) > 200:
        problems.append("新密码：不能超过 200 个字符")
    classes = sum(bool(any(test(c) for c in password)) for test in (
        lambda c: c.isascii() and c.isupper(), lambda c: c.isascii() and c.islower(), str.isdigit,
        lambda c: not c.isalnum()))
    if classes < 3:
        problems.append("新密码：须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("新密码：不能包含用户名")
    return problems


def _set_password(s: Session, user: User, new: str) -> None:
    problems = password_problems(new, user.username)
    if problems:
        raise ValidationFailed([FieldError("new", p) for p in problems], "新密码不符合要求")
    user.password_hash = generate_password_hash(new, method="scrypt")
    # Every session and token of the user ends with the old password, on every process.
    s.execute(delete(WebSession).where(WebSession.user_id == user.id))
    s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def change_password(ctx: Govflow, user_id: int, old: str, new: str, *, address: str | None = None,
                    now: dt.datetime | None = None) -> None:
    """The signed-in user's own change: the old password is checked (and a wrong one counted like a
    failed sign-in, so a stolen session cannot guess it); all the user's sessions and tokens end."""
    now = now or utcnow()
    with ctx.db.session() as s:
        user = s.get(User, user_id)
        if user is None or not user.active:
            raise Unauthenticated("请先登录")
        username, stored = user.username, user.password_hash
    if stored is None:
        raise Forbidden("该账号通过统一身份认证登录，请在身份提供方修改密码")
    sign_in_throttle.check(ctx, username, address, now)
    if not check_password_hash(stored, old):
        sign_in_throttle.record_failure(ctx, username, address, now)
        raise ValidationFailed([FieldError("old", "原密码：不正确")], "原密码不正确")
    if old == new:
        raise ValidationFailed([FieldError("new", "新密码：不能与原密码相同")], "新密码不符合要求")
    with ctx.db.session() as s:
        user = s.get(User, user_id)
        assert user is not None
        _set_password(s, user, new)
        security_events.record(s, "password_changed", username=username, address=address, at=now)


def reset_password(ctx: Govflow, actor: Actor, username: str, new: str, *, address: str | None = None) -> None:
    """An administrator sets a user's password (forgotten, or suspected stolen): the same policy,
    and every session and token of that user ends; the account's sign-in lock is lifted."""
    require_admin(actor)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"用户 {username} 不存在")
        _set_password(s, user, new)
        security_events.record(s, "password_reset", username=username, address=address,
                               detail={"by": actor.user})
    sign_in_throttle.record_success(ctx, username, utcnow())


def get_user(ctx: Govflow, user_id: int) -> UserView | None:
    with ctx.db.session() as s:
        user = s.get(User, user_id)
        return user_view(user) if user is not None and user.active else None


def user_in_unit(session: Session, username: str, unit: str) -> bool:
    return session.scalar(select(User.id).join(Unit, User.unit_id == Unit.id)
                          .where(User.username == username, Unit.name == unit, User.active.is_(True))) is not None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(ctx: Govflow, user_id: int, *, days: int = TOKEN_DAYS,
                session_id: str | None = None) -> tuple[str, dt.datetime]:
    """A bearer token; `session_id` pairs it with the browser session of the same sign-in."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=days)
    with ctx.db.session() as s:
        s.add(ApiToken(token_hash=_token_hash(token), user_id=user_id, expires_at=expires, session_id=session_id))
    return token, expires


def revoke_token(ctx: Govflow, token: str) -> None:
    """Sign-out with a bearer token: the token and the browser session of the same sign-in."""
    with ctx.db.session() as s:
        paired = s.scalar(select(ApiToken.session_id).where(ApiToken.token_hash == _token_hash(token)))
        s.execute(delete(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
        if paired:
            s.execute(delete(WebSession).where(WebSession.id == paired))


# Every API request asks this first, so it is built once and read as a row: one statement on a
# read connection (no write transaction, no ORM identity map), the columns UserView needs.
_TOKEN_USER = (select(ApiToken.expires_at, User.active, User.id, User.username, User.display_name, Unit.name,
                      User.roles, Unit.kind)
               .join(User, User.id == ApiToken.user_id).outerjoin(Unit, Unit.id == User.unit_id)
               .where(ApiToken.token_hash == bindparam("token_hash")))


def user_for_token(ctx: Govflow, token: str) -> UserView | None:
    with ctx.db.read_connection() as conn:
        row = conn.execute(_TOKEN_USER, {"token_hash": _token_hash(token)}).first()
    if row is None or row[0] < utcnow() or not row[1]:
        return None
    return _view(*row[2:])


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
        return user_view(user)


# -- demo seed -----------------------------------------------------------------------------------
DEMO_PASSWORD = "govflow-demo"
# (username, unit, roles, display name): every participant lane, three 建设单位, one user per role.
DEMO_USERS: list[tuple[str, str | None, list[str], str]] = [
    ("edu", "市教育局", ["department"], "王晓燕"),
    ("edu_leader", "市教育局", ["leader"], "刘建国"),
    ("health", "市卫生健康委员会", ["department"], "张丽娜"),
    ("nature", "市自然资源和规划局", ["department"], "李志强"),
    ("civil", "市民政局", ["department"], "赵文静"),
    ("bigdata", "市大数据局", ["reviewer"], "孙海涛"),
    ("finance", "市财政局", ["reviewer"], "周敏"),
    ("cac", "市委网信办", ["reviewer"], "吴磊"),
    ("police", "市公安局", ["reviewer"], "郑国栋"),
    ("crypto", "市密码管理局", ["reviewer"], "冯雪"),
    ("gov", "市政府", ["leader"], "陈立新"),
    ("supervisor", "市大数据局", ["supervisor"], "何静"),
    ("auditor", "市审计局", ["auditor"], "高峰"),
    ("designer", None, ["designer"], "马超"),
    ("admin", None, ["admin"], "林芳"),
]
# Office phones in Dongying (area code 0546) and addresses on a reserved example domain.
DEMO_CONTACTS: dict[str, tuple[str, str]] = {
    username: (f"0546-83{index:05d}", f"{username}@dongying.example.gov.cn")
    for index, (username, _, _, _) in enumerate(DEMO_USERS, start=11001)
}


def seed_demo_users(ctx: Govflow, password: str = DEMO_PASSWORD) -> list[UserView]:
    out = []
    with ctx.db.session() as s:
        existing = set(s.scalars(select(User.username)))
    for username, unit, roles, display in DEMO_USERS:
        if username not in existing:
            out.append(create_user(ctx, username, unit=unit, roles=roles, password=password, display_name=display))
    with ctx.db.session() as s:
        for user in s.scalars(select(User).where(User.username.in_([v.username for v in out]))):
            user.phone, user.email = DEMO_CONTACTS[user.username]
    return out
