"""Who may do what: every check lives here, not in views or operations.

Roles: department (办件人 of a unit), leader (unit leader), reviewer, supervisor (市大数据局 督办 and
市审计局: read everything, complete nothing), designer (deploys processes, works no tasks), admin."""
from __future__ import annotations

from dataclasses import dataclass, field

from service.domain.errors import Forbidden

WORKER_ROLES = frozenset({"department", "leader", "reviewer"})
GOVERNMENT_UNIT = "市政府"


@dataclass(frozen=True)
class Actor:
    user: str
    unit: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    @staticmethod
    def system() -> Actor:
        return Actor("system", None, frozenset({"system"}))


def require_task_worker(actor: Actor, task_unit: str) -> None:
    if not (actor.roles & WORKER_ROLES):
        raise Forbidden("当前角色只能查看，不能办理任务")
    if actor.unit != task_unit:
        raise Forbidden("无权办理其他单位的任务")


def require_declarer(actor: Actor) -> None:
    if actor.unit is None or not (actor.roles & WORKER_ROLES):
        raise Forbidden("只有建设单位的办件人员可以申报项目", article="第五条")


def require_designer(actor: Actor) -> None:
    if not (actor.roles & {"designer", "admin", "system"}):
        raise Forbidden("只有流程设计人员可以校验和部署流程")


def require_admin(actor: Actor) -> None:
    if not (actor.roles & {"admin", "system"}):
        raise Forbidden("只有系统管理员可以执行此操作")


def require_overseer(actor: Actor) -> None:
    """Reading supervision data: 督办 (市大数据局) and 审计 (市审计局, read-only)."""
    if not (actor.roles & {"supervisor", "auditor", "admin", "system"}):
        raise Forbidden("只有督办或审计人员可以查看", article="第二十七条")


def require_supervisor(actor: Actor) -> None:
    if not (actor.roles & {"supervisor", "admin", "system"}):
        raise Forbidden("只有督办人员可以执行此操作", article="第二十七条")


def require_list_approver(actor: Actor) -> None:
    if not (actor.roles & {"system", "admin"}) and actor.unit != GOVERNMENT_UNIT:
        raise Forbidden("年度项目清单须报经市政府同意", article="第七条(五)")
