"""Who may use the approval actions of issue 11 (撤回, 加签, 抄送, 催办, 代理): the pure halves of the
rules, on names and states, beside service.domain.access. The operations (service.operations.withdraw,
countersign, carbon_copy, urge, substitutes) load the rows, ask these, and add only the checks that
need the database: the next unit has started, the engine can go back, the file is read in one's
own right, periods overlap. 延期申请 and 批量办理 need nothing beyond access.require_task_worker /
require_supervisor and the form's `x-batchable` (service.domain.forms)."""
from __future__ import annotations

from service.domain.access import DECLARER_ROLES, WORKER_ROLES, Actor
from service.domain.errors import Conflict, Forbidden

# 催办 of any open task; 督办 (supervisor) and admin. 审计 reads, it does not urge.
SUPERVISION_ROLES = frozenset({"supervisor", "admin"})


# -- 催办 ---------------------------------------------------------------------------------------------

def may_urge(actor: Actor, *, task_open: bool, task_unit: str, project_unit: str) -> bool:
    """Supervision urges any open task; the declaring unit (办件人, leader) one that another unit holds."""
    if not task_open:
        return False
    if actor.roles & SUPERVISION_ROLES:
        return True
    return bool(actor.roles & DECLARER_ROLES) and actor.unit == project_unit and task_unit != actor.unit


def require_urger(actor: Actor, *, task_unit: str, project_unit: str) -> None:
    """For an open task: 403 unless may_urge (the caller has told 'not open' apart already)."""
    if may_urge(actor, task_open=True, task_unit=task_unit, project_unit=project_unit):
        return
    if actor.unit == project_unit and task_unit == actor.unit and actor.roles & DECLARER_ROLES:
        raise Forbidden("该任务由本单位办理，无需催办")
    raise Forbidden("只有项目建设单位或督办人员可以催办")


# -- 撤回 ---------------------------------------------------------------------------------------------

def withdraw_project_refusal(status: str, outcome: str | None) -> str | None:
    """A step is taken back only while its project runs."""
    if status == "active":
        return None
    if status == "completed":
        return "项目已办结，不能撤回"
    return f"项目已终止（{outcome or '已结束'}），不能撤回"


def withdraw_completer_refusal(actor: Actor, completed_by: str | None, completer_name: str | None) -> str | None:
    """Only who completed the step takes it back (a substitute or colleague does not)."""
    if completed_by == actor.user:
        return None
    return f"该步骤不是您办理的（办理人：{completer_name or '他人'}），不能撤回"


# -- 加签 ---------------------------------------------------------------------------------------------

def require_countersign_holder(actor: Actor, *, assignee: str | None, delegated_by: str | None) -> None:
    """On top of being the task's holder (tasks._check_open): a 委派 delegate hands back, not 加签."""
    if delegated_by and assignee == actor.user:
        raise Conflict("委派的任务不能加签，请交回委派人")


def countersign_signer_refusal(actor: Actor, task_unit: str, *, user: str | None = None,
                               unit: str | None = None) -> str | None:
    """One requested signer: never oneself, never the task's own unit as a whole (name a colleague)."""
    if user is not None and user == actor.user:
        return "加签人：不能加签给自己"
    if unit is not None and unit == task_unit:
        return f"加签单位：任务本就由{task_unit}办理，不能加签给本单位；请指定本单位的具体人员"
    return None


# -- 抄送 ---------------------------------------------------------------------------------------------

def require_cc_sender(actor: Actor) -> str:
    """A copy is sent by a named person (the automatic 抄送 of the BPMN is sent by "system" itself)."""
    if not actor.user or "system" in actor.roles:
        raise Forbidden("抄送须由具体人员发出")
    return actor.user


def cc_own_units_refusal(actor: Actor, units: list[str]) -> str | None:
    """Not to one's own unit as a whole: pick colleagues by name."""
    return "抄送单位：不能抄送给本单位（可选择本单位的具体人员）" if actor.unit in units else None


def cc_user_refusal(actor: Actor, user: str) -> str | None:
    return "抄送人员：不能抄送给自己" if user == actor.user else None


# -- 代理 ---------------------------------------------------------------------------------------------

def require_substitute_namer(actor: Actor) -> str:
    """Who works tasks (department, leader, reviewer of a unit) names a substitute; returns the unit."""
    if actor.unit is None or not actor.roles & WORKER_ROLES:
        raise Forbidden("只有办理任务的人员可以设置代理人")
    return actor.unit


def substitute_refusal(actor: Actor, substitute: str) -> str | None:
    if substitute == actor.user:
        return "代理人：不能指定自己"
    return None
