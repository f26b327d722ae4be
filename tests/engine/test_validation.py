"""Deploy-time validation of BPMN/DMN bundles."""
from __future__ import annotations

import math
import socket
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from service.engine.scripting import SandboxedScriptEngine
from service.engine.validation import (
    ValidationIssue,
    XmlRefused,
    load_parser,
    parse_xml,
    source_text,
    text_to_xml_bytes,
    validate_bundle,
)

FIXTURES = Path(__file__).parent / "fixtures"
HELPERS = ["ceil_div", "working_days_after"]
TIMER = b'working_days_after(submitted_on, 3) + "T09:00:00+08:00"'


def _bundle(bpmn: bytes | None = None, dmn: bytes | None = None) -> dict[str, bytes]:
    return {
        "valid.bpmn": bpmn if bpmn is not None else (FIXTURES / "valid.bpmn").read_bytes(),
        "change_rule.dmn": dmn if dmn is not None else (FIXTURES / "change_rule.dmn").read_bytes(),
    }


def _bpmn(old: bytes | str, new: bytes | str) -> bytes:
    old = old.encode() if isinstance(old, str) else old
    new = new.encode() if isinstance(new, str) else new
    source = (FIXTURES / "valid.bpmn").read_bytes()
    assert old in source
    return source.replace(old, new, 1)


def _line_of(text: bytes | str, needle: str) -> int:
    text = text.decode() if isinstance(text, bytes) else text
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _only(issues: list[ValidationIssue]) -> ValidationIssue:
    assert len(issues) == 1, issues
    return issues[0]


def test_valid_bundle_has_no_issues() -> None:
    assert validate_bundle(_bundle(), form_exists=lambda name: name == "review_police", helpers=HELPERS) == []


def test_repository_processes_are_valid() -> None:
    processes = Path(__file__).parents[2] / "processes"
    files = {p.name: p.read_bytes() for p in processes.iterdir() if p.suffix in (".bpmn", ".dmn")}
    assert {"lifecycle.bpmn", "change_rule.dmn"} <= set(files)
    assert validate_bundle(files) == []


def test_validated_bundle_runs_in_the_sandbox() -> None:
    parser = load_parser(_bundle())
    spec = parser.get_spec("review_proc")
    engine = SandboxedScriptEngine(helpers={
        "ceil_div": lambda a, b: -(-int(a) // int(b)),
        "working_days_after": lambda d, n: d,
    })
    wf = BpmnWorkflow(spec, parser.get_subprocess_specs("review_proc"), script_engine=engine)
    wf.do_engine_steps()
    [review] = wf.get_tasks(state=TaskState.READY, manual=True)
    assert review.task_spec.lane == "市公安局"
    review.data.update(change_amount=100, approved_estimate=1000, submitted_on="2027-03-01")
    review.run()
    wf.do_engine_steps()
    [waiting] = wf.get_tasks(state=TaskState.WAITING)
    assert waiting.task_spec.bpmn_id == "wait"
    assert waiting.data["change_route"] == "备案"
    assert waiting.data["change_bp"] == math.ceil(100 * 10000 / 1000)


def test_malformed_xml_reports_the_line() -> None:
    issue = _only(validate_bundle(_bundle(_bpmn("</bpmn:process>", "</bpmn:proces>"))))
    assert issue.file == "valid.bpmn"
    assert issue.line == _line_of((FIXTURES / "valid.bpmn").read_bytes(), "</bpmn:process>")
    assert issue.message.startswith("XML 格式错误")


def test_condition_syntax_error_names_flow_and_line() -> None:
    bpmn = _bpmn('change_route == "备案"', 'change_route == "备案')
    issue = _only(validate_bundle(_bundle(bpmn)))
    assert (issue.element_id, issue.element_type) == ("f_gw__wait", "sequenceFlow")
    assert issue.line == _line_of(bpmn, 'change_route == "备案')
    assert "语法错误" in issue.message


@pytest.mark.parametrize(("condition", "expected"), [
    ("__import__('os').system('id')", "__import__"),
    ("change_route.__class__.__base__", "__class__"),
    ("open('/etc/passwd').read()", "open"),
])
def test_dangerous_condition_is_refused(condition: str, expected: str) -> None:
    issue = _only(validate_bundle(_bundle(_bpmn('change_route == "备案"', condition))))
    assert issue.element_id == "f_gw__wait"
    assert "不允许" in issue.message and expected in issue.message


def test_script_import_reports_file_line() -> None:
    bpmn = _bpmn("within_estimate = change_bp", "import os\nwithin_estimate = change_bp")
    issue = _only(validate_bundle(_bundle(bpmn)))
    assert (issue.element_id, issue.element_type) == ("compute", "scriptTask")
    assert issue.line == _line_of(bpmn, "import os")
    assert "不允许导入模块 os" in issue.message


def test_unknown_helper_is_reported_when_helpers_are_given() -> None:
    bundle = _bundle(_bpmn("ceil_div(", "ceil_dvi("))
    assert validate_bundle(bundle) == []
    assert "未知函数 ceil_dvi" in _only(validate_bundle(bundle, helpers=HELPERS)).message


def test_user_task_without_form() -> None:
    bundle = _bundle(_bpmn('<spiffworkflow:property name="form" value="review_police" />', ""))
    issue = _only(validate_bundle(bundle))
    assert (issue.element_id, issue.element_type) == ("review_police", "userTask")
    assert issue.message == "用户任务 review_police 缺少扩展属性 form（办理表单）"


def test_unknown_form_and_bad_sla() -> None:
    bundle = _bundle(_bpmn('value="5"', 'value="五"'))
    messages = [i.message for i in validate_bundle(bundle, form_exists=lambda name: False)]
    assert "用户任务 review_police 的表单 review_police 不存在" in messages
    assert any("sla_days 必须是正整数" in m for m in messages)


def test_user_task_without_sla_days() -> None:
    issue = _only(validate_bundle(_bundle(_bpmn('<spiffworkflow:property name="sla_days" value="5" />', ""))))
    assert issue.message == "用户任务 review_police 缺少扩展属性 sla_days（办理时限，工作日）"


def test_user_task_outside_lanes() -> None:
    issue = _only(validate_bundle(_bundle(_bpmn("<bpmn:flowNodeRef>review_police</bpmn:flowNodeRef>", ""))))
    assert issue.element_id == "review_police"
    assert "泳道" in issue.message


def test_missing_dmn_decision() -> None:
    bpmn = _bpmn(">change_rule<", ">no_such_rule<")
    issue = _only(validate_bundle(_bundle(bpmn)))
    assert (issue.element_id, issue.element_type) == ("rule", "businessRuleTask")
    assert issue.line == _line_of(bpmn, '<bpmn:businessRuleTask id="rule"')
    assert "no_such_rule" in issue.message


def test_missing_called_element() -> None:
    bpmn = _bpmn('calledElement="archive_proc"', 'calledElement="no_such_process"')
    issue = _only(validate_bundle(_bundle(bpmn)))
    assert (issue.element_id, issue.element_type) == ("archive", "callActivity")
    assert issue.line == _line_of(bpmn, 'calledElement="no_such_process"')


@pytest.mark.parametrize(("timer", "expected"), [
    (b"working_days_after(submitted_on, 3) +", "语法错误"),
    (b"PT5M", "需要加引号"),
    (b'"tomorrow"', "不是有效的 ISO 8601"),
    (b"submitted_on.__class__", "不允许"),
])
def test_bad_timer_expression(timer: bytes, expected: str) -> None:
    bpmn = _bpmn(TIMER, timer)
    issue = _only(validate_bundle(_bundle(bpmn)))
    assert (issue.element_id, issue.element_type) == ("wait", "intermediateCatchEvent")
    assert issue.line == _line_of(bpmn, "<bpmn:timeDate")
    assert expected in issue.message


def test_missing_start_event_is_located() -> None:
    outgoing = "\n      <bpmn:outgoing>f_archive_start__end</bpmn:outgoing>\n    "
    bpmn = _bpmn(f'<bpmn:startEvent id="archive_start">{outgoing}</bpmn:startEvent>',
                 f'<bpmn:task id="archive_start">{outgoing}</bpmn:task>')
    issue = _only(validate_bundle(_bundle(bpmn)))
    assert (issue.element_id, issue.element_type) == ("archive_proc", "process")
    assert issue.line == _line_of(bpmn, '<bpmn:process id="archive_proc"')


def test_xsd_error_has_a_line() -> None:
    bpmn = _bpmn("<bpmn:incoming>f_start__review</bpmn:incoming>", "<bpmn:bogus />")
    issue = _only(validate_bundle(_bundle(bpmn)))
    assert issue.line == _line_of(bpmn, "<bpmn:bogus />")
    assert issue.message.startswith("不符合 BPMN 规范")


@pytest.mark.parametrize(("old", "new", "element_id", "expected"), [
    (b"&lt;= 1500", b"__import__('os')", "r2_i2", "__import__"),
    (b"&lt;= 1500", b"&lt;= (", "r2_i2", "语法错误"),
    ('"备案"'.encode(), b"change_bp.__class__", "r2_o1", "__class__"),
    (b"<text>change_bp</text>", b"<text>change_bp +</text>", "in_bp", "语法错误"),
])
def test_dmn_cells_are_checked(old: bytes, new: bytes, element_id: str, expected: str) -> None:
    dmn = (FIXTURES / "change_rule.dmn").read_bytes()
    assert old in dmn
    dmn = dmn.replace(old, new, 1)
    issue = _only(validate_bundle(_bundle(dmn=dmn)))
    assert (issue.file, issue.element_id) == ("change_rule.dmn", element_id)
    assert issue.line == _line_of(dmn, new.decode())
    assert expected in issue.message


def test_issue_to_dict() -> None:
    issue = ValidationIssue("a.bpmn", 3, "t1", "userTask", "消息")
    assert issue.to_dict() == {"file": "a.bpmn", "line": 3, "element_id": "t1", "element_type": "userTask",
                               "message": "消息"}


# -- hostile XML (docs/hostile-input.md) -------------------------------------------------------------------

XXE_BPMN = _bpmn('<?xml version="1.0" encoding="UTF-8"?>',
                 '<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>').replace(
    'name="市公安局">'.encode(), 'name="市公安局">&xxe;'.encode(), 1)
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b']>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
            b'<bpmn:documentation>&lol9;</bpmn:documentation></bpmn:definitions>')


def _doctype_issue(issues: list[ValidationIssue], file: str) -> ValidationIssue:
    issue = _only([i for i in issues if i.file == file])
    assert "DOCTYPE" in issue.message and issue.line == 1
    return issue


def test_external_entity_is_refused_and_nothing_leaks() -> None:
    assert b"&xxe;" in XXE_BPMN
    issues = validate_bundle(_bundle(XXE_BPMN), helpers=HELPERS)
    _doctype_issue(issues, "valid.bpmn")
    assert not any("root:" in i.message for i in issues)
    with pytest.raises(XmlRefused):
        load_parser(_bundle(XXE_BPMN))


def test_billion_laughs_is_refused_without_expanding() -> None:
    _doctype_issue(validate_bundle({"laughs.bpmn": LAUGHS}), "laughs.bpmn")


def test_doctype_in_dmn_is_refused() -> None:
    dmn = (FIXTURES / "change_rule.dmn").read_bytes().replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY e "x">]>')
    _doctype_issue(validate_bundle(_bundle(dmn=dmn), helpers=HELPERS), "change_rule.dmn")


def test_external_dtd_is_not_fetched_from_the_network() -> None:
    # A real listener on loopback: the parser must neither connect to it nor wait for it.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        source = _bpmn('<?xml version="1.0" encoding="UTF-8"?>',
                       f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE bpmn:definitions SYSTEM '
                       f'"http://127.0.0.1:{port}/x.dtd">')
        _doctype_issue(validate_bundle(_bundle(source), helpers=HELPERS), "valid.bpmn")
        with pytest.raises(TimeoutError):
            server.accept()


def _gbk_bundle() -> dict[str, bytes]:
    text = (FIXTURES / "valid.bpmn").read_text(encoding="utf-8").replace(
        '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="GBK"?>', 1)
    return _bundle(text.encode("gbk"))


def test_gbk_bundle_validates_and_its_text_is_decoded_as_declared() -> None:
    bundle = _gbk_bundle()
    assert "市公安局".encode("gbk") in bundle["valid.bpmn"]
    assert validate_bundle(bundle, form_exists=lambda name: name == "review_police", helpers=HELPERS) == []
    text = source_text(bundle["valid.bpmn"])
    assert 'name="市公安局"' in text and text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    # The stored text, encoded as UTF-8, parses to the same document as the GBK original.
    assert parse_xml(text.encode("utf-8")).find(".//{*}lane").get("name") == "市公安局"
    assert load_parser(bundle).get_spec("review_proc").task_specs["review_police"].bpmn_name == "方案评审（市公安局）"


def test_text_sent_as_json_is_sent_on_as_utf8() -> None:
    gbk_text = source_text(_gbk_bundle()["valid.bpmn"]).replace('encoding="UTF-8"', 'encoding="GBK"', 1)
    data = text_to_xml_bytes(gbk_text)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert parse_xml(data).find(".//{*}lane").get("name") == "市公安局"


def test_doctype_in_utf16_is_refused() -> None:
    doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'
    for codec in ("utf-16", "utf-16-be"):
        with pytest.raises(XmlRefused):
            parse_xml(doc.encode(codec))


def test_undecodable_declared_encoding_is_an_issue_not_an_error() -> None:
    issues = validate_bundle({"x.bpmn": b'<?xml version="1.0" encoding="X-NOPE"?><a/>'})
    assert _only(issues).message.startswith("XML 格式错误")
