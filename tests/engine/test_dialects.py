"""The foreign-file corpus (tests/engine/fixtures/dialects/): each file's verdict and message — element
id, line and the Chinese fix — through the checker deploy uses (validate_bundle + runnability with the
lifecycle's lane rule). And every English message SpiffWorkflow 3.2's parser raises has a translation."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
import SpiffWorkflow

from service.engine import engine_messages, runnability
from service.engine.validation import ValidationIssue, validate_bundle
from service.operations.processes import MAIN_PROCESS, _lane_problem

CORPUS = Path(__file__).parent / "fixtures" / "dialects"
FORMS = Path(__file__).resolve().parents[2] / "forms"
UNITS = {"市大数据局", "市财政局", "市公安局"}


def check(name: str) -> list[ValidationIssue]:
    files = {name: (CORPUS / name).read_bytes()}

    def form_exists(form: str) -> bool:
        return (FORMS / f"{form}.json").exists()

    issues = validate_bundle(files, form_exists=form_exists, helpers=["ceil_div", "working_days_after"])
    return issues + runnability.check(files, MAIN_PROCESS, lane_problem=_lane_problem(UNITS),
                                      first_task="submit_declaration", form_exists=form_exists)


def line_of(name: str, needle: str) -> int:
    lines = (CORPUS / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def only(issues: list[ValidationIssue]) -> ValidationIssue:
    assert len(issues) == 1, [i.message for i in issues]
    return issues[0]


# (file, element id, the line's needle, words the message must carry)
CASES = [
    ("camunda_juel_condition.bpmn", "f_holiday", "${isHoliday}",
     ["JUEL", "${isHoliday}", "Python 表达式", "修改方法", "例如 isHoliday"]),
    ("camunda_external_task.bpmn", "charge", 'camunda:type="external"',
     ["外部任务", "topic invoice", "serviceTaskOperator", "用户任务"]),
    ("camunda_connector.bpmn", "notify_http", "<camunda:connector>", ["连接器", "http-connector", "operator"]),
    ("camunda_cron_timer.bpmn", "wait_morning", "0 0 9 * * ?", ["cron", "ISO 8601", "\"PT24H\"", "working_days_after"]),
    ("no_end_event.bpmn", "govflow_lifecycle", '<bpmn:process id="govflow_lifecycle"', ["没有结束事件", "endEvent"]),
    ("unreachable_element.bpmn", "orphan_review", 'id="orphan_review"', ["无法到达", "顺序流", "删除"]),
    ("lane_missing.bpmn", "review", '<bpmn:userTask id="review"',
     ["Reviewers", "不是单位名称", "建设单位", "市大数据局"]),
]


@pytest.mark.parametrize(("name", "element_id", "needle", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_foreign_file_is_refused_with_element_line_and_fix(name: str, element_id: str, needle: str,
                                                              words: list[str]) -> None:
    issues = check(name)
    issue = next(i for i in issues if i.element_id == element_id)
    assert issue.line == line_of(name, needle) and issue.file == name
    for word in words:
        assert word in issue.message, (word, issue.message)
    # No raw engine English and no second, vaguer message for the same element.
    assert not [i for i in issues if i.element_id == element_id and i is not issue], issues
    assert all("invalid syntax" not in i.message and "must have an operator" not in i.message for i in issues)


def test_both_juel_conditions_get_a_python_rewrite() -> None:
    issues = check("camunda_juel_condition.bpmn")
    assert [i.element_id for i in issues] == ["f_holiday", "f_workday"]
    assert "例如 not isHoliday and amount > 100" in issues[1].message
    assert issues[1].line == line_of("camunda_juel_condition.bpmn", "amount gt 100")


def test_camunda_form_key_and_assignment_name_the_property_and_the_lane() -> None:
    issues = check("camunda_form_assignee.bpmn")
    assert [i.element_id for i in issues] == ["approve", "approve"]
    line = line_of("camunda_form_assignee.bpmn", "camunda:formKey")
    assert {i.line for i in issues} == {line}
    form, assign = issues
    assert "formKey" in form.message and "扩展属性中写 form" in form.message
    assert 'assignee="${initiator}"' in assign.message and 'candidateGroups="managers"' in assign.message
    assert "泳道" in assign.message


def test_flowable_extensions_in_a_bpmn20_xml_file() -> None:
    name = "flowable_extensions.bpmn20.xml"
    issues = check(name)
    assert all("只接受" not in i.message for i in issues)  # the name is accepted
    assign = next(i for i in issues if "assignee" in i.message)
    listener = next(i for i in issues if "taskListener" in i.message)
    assert assign.element_id == listener.element_id == "approve"
    assert assign.line == line_of(name, "flowable:assignee") and "Flowable" in assign.message
    assert listener.line == line_of(name, "flowable:taskListener") and "postScript" in listener.message


def test_a_clean_bpmn20_xml_file_is_accepted() -> None:
    assert check("plain.bpmn20.xml") == []


def test_a_flow_without_id_is_named_with_its_line_and_what_it_would_skip() -> None:
    name = "flow_without_id.bpmn"
    issues = check(name)
    flow = next(i for i in issues if i.element_type == "sequenceFlow")
    assert flow.element_id is None and flow.line == line_of(name, '<bpmn:sequenceFlow sourceRef="fork"')
    assert "缺少 id" in flow.message and "fork → review_police" in flow.message
    assert "Flow_fork_review_police" in flow.message
    skipped = next(i for i in issues if i.element_id == "review_police")
    assert "无法到达" in skipped.message


def test_a_foreign_govflow_lifecycle_is_refused() -> None:
    name = "foreign_lifecycle.bpmn"
    issues = check(name)
    by_element = {(i.element_id, i.message.split("：")[0][:30]) for i in issues}
    lane = next(i for i in issues if i.element_id == "sign_paper" and "泳道" in i.message)
    form = next(i for i in issues if i.element_id == "sign_paper" and "form" in i.message)
    start = next(i for i in issues if i.element_id == "start")
    assert lane.line == form.line == line_of(name, 'id="sign_paper"'), by_element
    assert "submit_declaration" in start.message and start.line == line_of(name, '<bpmn:startEvent')


def test_every_spiffworkflow_parser_message_is_translated() -> None:
    """Each ValidationException raised by the installed SpiffWorkflow's bpmn/spiff/dmn parsers, with
    its formatted parts filled in, has its own Chinese entry (not only the catch-all)."""
    root = Path(os.path.dirname(SpiffWorkflow.__file__))
    missing = []
    for path in [*root.glob("bpmn/parser/*.py"), *root.glob("spiff/parser/*.py"), *root.glob("dmn/parser/*.py")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in ("ValidationException", "raise_validation_exception"):
                continue
            text = _example(node.args[0])
            if text == "x":  # TaskParser's repr of any other exception
                text = "KeyError('x')"
            if text is not None and not engine_messages.known(text):
                missing.append(f"{path.name}:{node.lineno}: {text}")
    assert missing == []


def _example(arg: ast.expr) -> str | None:
    """The message a raise site produces, with 'x' for every formatted value (None: not a literal)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "x" for v in arg.values)
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod) and isinstance(arg.left, ast.Constant):
        return str(arg.left.value).replace("%r", "x").replace("%s", "x")
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add):
        left, right = _example(arg.left), _example(arg.right)
        return (left or "x") + (right or "x")
    return None


def test_translation_fills_in_the_parts() -> None:
    assert engine_messages.translate("Process abc is not executable.").startswith("流程 abc 未标记为可执行")
    assert engine_messages.translate("Duplicate process ID: p1") == "流程 id p1 重复：流程包中两个流程不能同名"
    assert engine_messages.translate("something new").startswith("引擎无法解析此元素（SpiffWorkflow：something new）")
    xsd = "Element 'bpmn:userTask', attribute 'foo': The attribute 'foo' is not allowed."
    assert engine_messages.translate_xsd(xsd) == "元素 bpmn:userTask 不允许属性 foo"


def _plain_with(old: str, new: str) -> dict[str, bytes]:
    text = (CORPUS / "plain.bpmn20.xml").read_text()
    assert old in text
    return {"plain.bpmn": text.replace(old, new, 1).encode()}


def _run(files: dict[str, bytes]) -> list[ValidationIssue]:
    return validate_bundle(files) + runnability.check(files, MAIN_PROCESS, lane_problem=_lane_problem(UNITS),
                                                      first_task="submit_declaration")


def test_what_used_to_fail_only_at_deploy_is_found_by_validation_with_file_and_line() -> None:
    """Issue 13: "没有可执行流程 govflow_lifecycle", no file or line, after validation had passed."""
    other = _run(_plain_with('id="govflow_lifecycle"', 'id="lifecycle_v2"'))
    issue = only([i for i in other if "govflow_lifecycle" in i.message])
    assert (issue.file, issue.line, issue.element_id) == ("plain.bpmn", 3, "lifecycle_v2")
    assert "lifecycle_v2" in issue.message and "修改方法" in issue.message
    closed = _run(_plain_with('isExecutable="true"', 'isExecutable="false"'))
    issue = only(closed)
    assert (issue.line, issue.element_id) == (3, "govflow_lifecycle")
    assert "未标记为可执行" in issue.message and 'isExecutable="true"' in issue.message
