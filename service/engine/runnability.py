"""Can this process actually run? Graph checks that SpiffWorkflow's parser does not make.

Spiff 3.2 accepts a process whose sequence flows have no `id` and drops those flows without a word
(a parallel join then "completes" at its fork, skipping the branches), parses elements nothing leads
to, and lets a process without an end event through. For the deploy target (the lifecycle), every
user and manual task must also sit in a lane that names a unit, or the first declaration fails with
"泳道 None 无法对应到单位". These checks walk the lxml trees, like the rest of deploy validation, and
answer ValidationIssues with file, element and line. Pure reading: nothing runs."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from lxml import etree

from service.engine.dialects import TYPE_ZH, is_bpmn_name
from service.engine.validation import BPMN_NS, NS, ValidationIssue, XmlRefused, parse_xml

__all__ = ["LaneProblem", "check"]

# (lane name or None, task is multi-instance) → a Chinese problem, or None when the lane resolves.
LaneProblem = Callable[[str | None, bool], str | None]

_FLOW_NODES = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
               "receiveTask", "callActivity", "subProcess", "transaction", "exclusiveGateway", "parallelGateway",
               "inclusiveGateway", "eventBasedGateway", "complexGateway", "startEvent", "endEvent",
               "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_HUMAN = ("userTask", "manualTask")
_TYPE_ZH = TYPE_ZH


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _label(el: etree._Element) -> str:
    kind = _TYPE_ZH.get(_local(el), _local(el))
    name = (el.get("name") or "").strip()
    return f"{kind} {el.get('id') or '（无 id）'}" + (f"「{name}」" if name else "")


def _issue(file: str, el: etree._Element, message: str, element_id: str | None = None) -> ValidationIssue:
    return ValidationIssue(file, el.sourceline, element_id if element_id is not None else el.get("id"), _local(el),
                           message)


def _containers(root: etree._Element) -> Iterator[etree._Element]:
    yield from root.iter(f"{{{BPMN_NS}}}process", f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction")


def _is_event_subprocess(el: etree._Element) -> bool:
    return _local(el) == "subProcess" and (el.get("triggeredByEvent") or "").strip() == "true"


def _check_container(file: str, container: etree._Element) -> list[ValidationIssue]:
    out: list[ValidationIssue] = []
    nodes = {el.get("id"): el for el in container if isinstance(el.tag, str)
             and etree.QName(el).namespace == BPMN_NS and _local(el) in _FLOW_NODES and el.get("id")}
    edges: dict[str, list[str]] = {}
    for flow in container.iterfind("bpmn:sequenceFlow", NS):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if not (flow.get("id") or "").strip():
            out.append(_issue(file, flow, f"顺序流（{source} → {target}）缺少 id："
                                          f"SpiffWorkflow 会静默丢弃没有 id 的顺序流，"
                                          f"其后的元素不会执行、并行汇合会提前完成。修改方法：给它一个唯一 id，例如 "
                                          f"Flow_{source}_{target}", element_id=None))
            continue
        for ref, what in ((source, "起点"), (target, "终点")):
            if ref not in nodes:
                out.append(_issue(file, flow, f"顺序流 {flow.get('id')} 的{what} {ref} 不是本流程中的元素"))
        if source in nodes and target in nodes:
            edges.setdefault(source, []).append(target)
    # Boundary events start where their activity runs; link throw → catch by name.
    attached: dict[str, list[str]] = {}
    links_catch: dict[str, list[str]] = {}
    for node_id, el in nodes.items():
        if _local(el) == "boundaryEvent" and el.get("attachedToRef"):
            attached.setdefault(el.get("attachedToRef") or "", []).append(node_id)
        link = el.find("bpmn:linkEventDefinition", NS)
        if link is not None and _local(el) == "intermediateCatchEvent":
            links_catch.setdefault(link.get("name") or "", []).append(node_id)
    starts = [i for i, el in nodes.items() if _local(el) == "startEvent"]
    event_subs = [i for i, el in nodes.items() if _is_event_subprocess(el)]
    seen = set(starts) | set(event_subs)
    stack = list(seen)
    while stack:
        node_id = stack.pop()
        el = nodes[node_id]
        nexts = list(edges.get(node_id, [])) + attached.get(node_id, [])
        link = el.find("bpmn:linkEventDefinition", NS)
        if link is not None and _local(el) == "intermediateThrowEvent":
            nexts += links_catch.get(link.get("name") or "", [])
        for nxt in nexts:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    if starts:  # without a start event Spiff's own message says so
        for node_id, el in nodes.items():
            if node_id not in seen:
                out.append(_issue(file, el, f"{_label(el)} 从开始事件无法到达，永远不会执行。修改方法："
                                            f"用顺序流把它接入流程，"
                                            "或删除它"))
    if _local(container) == "process" and not any(_local(el) == "endEvent" for el in nodes.values()):
        out.append(_issue(file, container, f"流程 {container.get('id')} 没有结束事件：实例永远不会办结。"
                                           f"修改方法：在每条路径"
                                           "的终点放置结束事件（endEvent）"))
    return out


def _lanes(root: etree._Element) -> dict[str, etree._Element]:
    """Flow node id → its (innermost) lane element."""
    out: dict[str, etree._Element] = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            out[(ref.text or "").strip()] = lane
    return out


def _first_human_tasks(process: etree._Element) -> tuple[list[etree._Element], set[str]]:
    """The start events and the user/manual tasks met first on every path from them."""
    nodes = {el.get("id"): el for el in process if isinstance(el.tag, str) and el.get("id")}
    edges: dict[str, list[str]] = {}
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        if flow.get("id"):
            edges.setdefault(flow.get("sourceRef") or "", []).append(flow.get("targetRef") or "")
    starts = [el for el in nodes.values() if _local(el) == "startEvent"]
    first: set[str] = set()
    seen: set[str] = set()
    stack = [s.get("id") or "" for s in starts]
    while stack:
        node_id = stack.pop()
        for nxt in edges.get(node_id, []):
            if nxt in seen or nxt not in nodes:
                continue
            seen.add(nxt)
            if _local(nodes[nxt]) in _HUMAN:
                first.add(nxt)
            else:
                stack.append(nxt)
    return starts, first


def _check_target(file: str, root: etree._Element, process: etree._Element, lane_problem: LaneProblem | None,
                  first_task: str | None, form_exists: Callable[[str], bool] | None) -> list[ValidationIssue]:
    out: list[ValidationIssue] = []
    lanes = _lanes(root)
    if lane_problem is not None:
        for task in process.iter(*(f"{{{BPMN_NS}}}{t}" for t in _HUMAN)):
            task_id = task.get("id") or ""
            lane = lanes.get(task_id)
            if lane is None:
                if _local(task) == "manualTask":  # user tasks: reported by validation._check_user_tasks
                    out.append(_issue(file, task, f"{_label(task)} 不在任何泳道中：govflow 按泳道把任务分派给单位。"
                                                  "修改方法：把它放进建设单位、参建单位或以单位全称命名的泳道"))
                continue
            multi = task.find("bpmn:multiInstanceLoopCharacteristics", NS) is not None
            name = (lane.get("name") or "").strip() or None
            problem = lane_problem(name, multi)
            if problem:
                out.append(_issue(file, task, f"{_label(task)} 所在的泳道 {lane.get('id')}（{name or '无名称'}）"
                                              f"：{problem}"))
    for task in process.iter(f"{{{BPMN_NS}}}manualTask"):
        form = next((p.get("value") for p in task.iterfind(
            "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS) if p.get("name") == "form"),
            None)
        if not (form or "").strip():
            out.append(_issue(file, task, f"{_label(task)} 缺少扩展属性 form（办理表单，forms/ 中的表单名）："
                                          f"govflow 把人工任务"
                                          "当作用户任务办理"))
        elif form_exists is not None and not form_exists((form or "").strip()):
            out.append(_issue(file, task, f"{_label(task)} 的表单 {form} 不存在（forms/ 中没有）"))
    if first_task:
        starts, first = _first_human_tasks(process)
        if starts and first != {first_task}:
            found = "、".join(sorted(first)) or "没有用户任务"
            out.append(_issue(file, starts[0], f"主流程从开始事件出发的第一个用户任务必须是 {first_task}"
                                               f"（填报入库申请，申报时 govflow 以申报表单完成它），现在是：{found}"))
    return out


def check(files: Mapping[str, bytes], process_key: str, *, lane_problem: LaneProblem | None = None,
          first_task: str | None = None, form_exists: Callable[[str], bool] | None = None) -> list[ValidationIssue]:
    """Graph checks of every process in the bundle, and for `process_key` (the version being deployed)
    that it is there, its human tasks' lanes resolve (`lane_problem`) and it starts with `first_task`."""
    out: list[ValidationIssue] = []
    trees: dict[str, Any] = {}
    for name in sorted(files):
        if not is_bpmn_name(name):
            continue
        try:
            trees[name] = parse_xml(files[name])
        except (etree.XMLSyntaxError, XmlRefused):
            continue  # reported by validate_bundle
    found = None
    for name, root in trees.items():
        for container in _containers(root):
            out.extend(_check_container(name, container))
        for process in root.iterfind("bpmn:process", NS):
            if process.get("id") == process_key:
                found = (name, root, process)
    if found is None:
        ids = [p.get("id") or "（无 id）" for root in trees.values() for p in root.iterfind("bpmn:process", NS)]
        where = next(((n, p) for n, r in trees.items() for p in r.iterfind("bpmn:process", NS)), None)
        message = (f"流程包中没有 id 为 {process_key} 的流程，部署无法替换它（包中的流程：{'、'.join(ids) or '无'}）。"
                   f"修改方法：把要部署的主流程的 process id 设为 {process_key}")
        if where is not None:
            out.append(ValidationIssue(where[0], where[1].sourceline, where[1].get("id"), "process", message))
        elif trees:
            out.append(ValidationIssue(next(iter(trees)), 1, None, "definitions", message))
        return out
    out.extend(_check_target(found[0], found[1], found[2], lane_problem, first_task, form_exists))
    return out
