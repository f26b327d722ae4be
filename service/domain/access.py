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


DECLARER_ROLES = frozenset({"department", "leader"})
DEPARTMENT_KIND = "department"


def may_declare(actor: Actor, unit_kind: str | None = None) -> bool:
    """See require_declarer; for pages that show or hide 申报项目."""
    return actor.unit is not None and bool(actor.roles & DECLARER_ROLES) and unit_kind in (None, DEPARTMENT_KIND)


def require_declarer(actor: Actor, unit_kind: str | None = None) -> None:
    """第六条/第七条(一): the 项目建设单位 declares, i.e. a department user (办件人 or leader) of a unit
    of kind "department". The reviewing bodies (市大数据局, 市财政局 …), 市政府, 督办, 审计 and
    designers do not, whatever else they may do; `unit_kind` None checks the role only (before the
    unit is loaded)."""
    if not may_declare(actor, unit_kind):
        raise Forbidden(f"只有项目建设单位（部门）的办件人员或负责人可以申报项目，{actor.unit or '当前账号'}不能申报",
                        article="第六条、第七条(一)")


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
