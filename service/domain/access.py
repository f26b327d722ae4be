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


# -- 第六条、第七条(五): the annual list and the declaration windows (issue 12) ----------------------
LIST_COMPILER_UNIT = "市大数据局"
LIST_COSIGNER_UNIT = "市财政局"
LIST_UNITS = frozenset({LIST_COMPILER_UNIT, LIST_COSIGNER_UNIT, GOVERNMENT_UNIT})


def require_list_compiler(actor: Actor) -> None:
    """市大数据局's working staff compile the 建议清单 (督办 there watches, as everywhere)."""
    if "system" in actor.roles:
        return
    if actor.unit != LIST_COMPILER_UNIT or not (actor.roles & WORKER_ROLES):
        raise Forbidden("年度项目建议清单由市大数据局编制（会同市财政局），当前账号不能编制", article="第七条(五)")


def require_list_cosigner(actor: Actor) -> None:
    if "system" in actor.roles:
        return
    if actor.unit != LIST_COSIGNER_UNIT or not (actor.roles & WORKER_ROLES):
        raise Forbidden("年度项目建议清单须由市财政局会同确认（会签），当前账号不能会签", article="第七条(五)")


def require_list_reader(actor: Actor) -> None:
    """The three bodies of 第七条(五), 督办/审计 and admins read the year's lists; a 建设单位 sees
    its own project's outcome on the project page."""
    if actor.roles & {"supervisor", "auditor", "admin", "system"}:
        return
    if actor.unit not in LIST_UNITS:
        raise Forbidden("年度项目清单由市大数据局、市财政局、市政府办理，当前单位无权查看", article="第七条(五)")


def require_window_manager(actor: Actor) -> None:
    """第六条: 市大数据局 organises the annual declaration; its 督办 (supervisor) or an admin opens
    and closes the windows and records 预算安排完成."""
    if not (actor.roles & {"supervisor", "admin", "system"}):
        raise Forbidden("申报期和预算安排完成由市大数据局督办人员或系统管理员设置", article="第六条")


def may_read_lists(actor: Actor) -> bool:
    """See require_list_reader; for pages that show or hide 年度清单."""
    return bool(actor.roles & {"supervisor", "auditor", "admin", "system"}) or (
        actor.unit in LIST_UNITS and bool(actor.roles & WORKER_ROLES))
