"""Deploy-time validation of a BPMN/DMN bundle uploaded by process designers.

Spiff stops at the first problem and often without a line; designers fix bundles faster when they get
every problem at once with file, element and line, so most checks here walk the lxml trees themselves and
Spiff's parser is used for what only it knows (XSD, task parsing, process references).

Nothing here runs designer code: conditions, scripts, timer expressions and DMN cells are compiled with
the sandbox's compiler (:func:`service.engine.scripting.find_source_problem`) only."""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from service.engine import approval, bpmn_xml, dialects, engine_messages, expression_checks
from service.engine.dialects import is_bpmn_name, is_model_name

__all__ = ["ValidationIssue", "XmlRefused", "load_parser", "parse_xml", "source_text", "text_to_xml_bytes",
           "validate_bundle"]

# Re-exported: runnability and bundle_diff import them from here.
BPMN_NS, SPIFF_NS, NS = bpmn_xml.BPMN_NS, bpmn_xml.SPIFF_NS, bpmn_xml.NS

# lxml's XMLSchema keeps its error log on the schema object, which Spiff shares module-wide.
_xsd_lock = threading.Lock()
# Uploaded models never need a DTD, entities or the network; with these options libxml2 neither
# loads external DTDs/entities nor expands internal ones, and keeps its depth and size limits.
# Documents with a DOCTYPE at all are refused after parsing (parse_xml), so entity references
# never reach the XSD validator or Spiff (an unexpanded one made lxml's XSD check fail with a 500).
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                              huge_tree=False)
_DOCTYPE_MARKERS = tuple("<!DOCTYPE".encode(codec) for codec in ("ascii", "utf-16-le", "utf-16-be"))
_DOCTYPE_REFUSED = "不允许 DOCTYPE 声明（DTD、实体声明与实体引用一律不接受，以防 XML 外部实体和实体膨胀攻击）"


@dataclass(frozen=True)
class ValidationIssue:
    file: str
    line: int | None
    element_id: str | None
    element_type: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class XmlRefused(ValueError):
    """Well-formed XML that uploads may not contain (a DOCTYPE); the message is for users (zh-CN)."""


def parse_xml(content: bytes) -> etree._Element:
    """The hardened parse every uploaded BPMN/DMN goes through. Honours the declared encoding
    (GBK, GB18030, UTF-16 …). Raises etree.XMLSyntaxError for malformed XML and XmlRefused for a
    document with a DOCTYPE."""
    # Before parsing, so that libxml2 never reads the DTD (it would stop billion laughs with an
    # obscure amplification error); ASCII-compatible encodings and UTF-16 cover what uploads use.
    if any(marker in content for marker in _DOCTYPE_MARKERS):
        raise XmlRefused(_DOCTYPE_REFUSED)
    root = etree.fromstring(content, _XML_PARSER)
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise XmlRefused(_DOCTYPE_REFUSED)
    return root


_DECLARATION = re.compile(r"""\A(\ufeff?\s*<\?xml\b[^>]*?\bencoding\s*=\s*)(["'])([^"']*)\2""")


def source_text(content: bytes) -> str:
    """A parsed file as text, decoded with the encoding the parser used (its declaration or BOM),
    with the declaration then saying UTF-8: the text encoded as UTF-8 parses to the same document.
    Raises XmlRefused when the declared encoding has no Python codec."""
    encoding = parse_xml(content).getroottree().docinfo.encoding or "UTF-8"
    try:
        text = content.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise XmlRefused(f"文件声明的编码 {encoding} 无法转换为文本：{exc}") from None
    return _DECLARATION.sub(lambda m: f"{m.group(1)}{m.group(2)}UTF-8{m.group(2)}", text.lstrip("\ufeff"), count=1)


def text_to_xml_bytes(text: str) -> bytes:
    """A file sent as text (JSON): the declaration's encoding named bytes that no longer exist, so
    the text is sent on as UTF-8 with a declaration that says so."""
    return _DECLARATION.sub(lambda m: f"{m.group(1)}{m.group(2)}UTF-8{m.group(2)}", text.lstrip("\ufeff"),
                            count=1).encode("utf-8")


def load_parser(files: Mapping[str, bytes]) -> SpiffBpmnParser:
    """A Spiff parser loaded with the bundle from memory (DMN first), XSD-validated.

    Meant for bundles that passed :func:`validate_bundle`; raises lxml or Spiff errors otherwise."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name in sorted(files, key=lambda n: (not n.endswith(".dmn"), n)):
        root = parse_xml(files[name])
        with _xsd_lock:
            if name.endswith(".dmn"):
                parser.add_dmn_xml(root, filename=name)
            elif is_bpmn_name(name):
                parser.add_bpmn_xml(root, filename=name)
    return parser


_local = bpmn_xml.local


def _find_by_id(trees: Mapping[str, etree._Element], element_id: str | None,
                file: str | None = None) -> tuple[str | None, etree._Element | None]:
    if not element_id:
        return file, None
    names = [file] if file in trees else list(trees)
    for name in names:
        assert name is not None
        found = trees[name].xpath("//*[@id=$id]", id=element_id)
        if found:
            return name, found[0]
    return file, None


class _Collector:
    def __init__(self) -> None:
        self.issues: list[ValidationIssue] = []
        self._reported: set[tuple[str, str | None]] = set()
        # Elements a foreign-dialect finding explained: their generic syntax errors would repeat it.
        self.covered: set[tuple[str, str | None]] = set()

    def add(self, file: str, el: etree._Element | None, message: str, *, line: int | None = None,
            element_id: str | None = None, element_type: str | None = None) -> None:
        if el is not None:
            element_id = element_id or el.get("id")
            element_type = element_type or _local(el)
            line = line or el.sourceline
        self.issues.append(ValidationIssue(file, line, element_id, element_type, message))
        self._reported.add((file, element_id))

    def reported(self, file: str | None, element_id: str | None) -> bool:
        return (file or "", element_id) in self._reported or (
            element_id is not None and any(eid == element_id for _, eid in self._reported))


def validate_bundle(
    files: Mapping[str, bytes],
    *,
    form_exists: Callable[[str], bool] | None = None,
    helpers: Iterable[str] = (),
) -> list[ValidationIssue]:
    """Validate a bundle of ``.bpmn`` and ``.dmn`` sources; an empty list means it can be deployed.

    ``helpers`` are the function names the script engine offers; when given, calls of unknown functions
    in expressions are reported. ``form_exists`` checks the ``form`` property of user tasks."""
    out = _Collector()
    functions = list(helpers) or None
    trees: dict[str, etree._Element] = {}
    for name in sorted(files):
        if not is_model_name(name):
            out.add(name, None, "不支持的文件类型（只接受 .bpmn、.bpmn20.xml 和 .dmn）")
            continue
        try:
            trees[name] = parse_xml(files[name])
            source_text(files[name])  # what deploy stores: validate and deploy agree on the encoding
        except etree.XMLSyntaxError as exc:
            trees.pop(name, None)
            out.add(name, None, f"XML 格式错误：{exc.msg}", line=exc.lineno)
        except XmlRefused as exc:
            trees.pop(name, None)
            out.add(name, None, str(exc), line=1)
    if not any(is_bpmn_name(n) for n in trees) and not out.issues:
        out.add("", None, "流程包中没有 BPMN 文件")

    for name, root in trees.items():
        if is_bpmn_name(name):
            for finding in dialects.find(root):
                out.add(name, finding.element, finding.message, line=finding.line)
                if finding.covers:
                    out.covered.add((name, finding.element.get("id")))
    schema_ok = {name: _check_schema(name, root, out) for name, root in trees.items()}
    parser = _spiff_parse(trees, schema_ok, out)

    for name, root in trees.items():
        if is_bpmn_name(name):
            expression_checks.check_bpmn_expressions(name, root, out, functions)
            _check_user_tasks(name, root, out, form_exists)
        else:
            expression_checks.check_dmn_cells(name, root, out, functions)
    refs_ok = _check_references(trees, out)
    if parser is not None:
        _check_specs(trees, parser, out, subprocesses=refs_ok)
    return out.issues


# -- XSD and Spiff --------------------------------------------------------------------------------------

def _check_schema(name: str, root: etree._Element, out: _Collector) -> bool:
    """All XSD errors of a file, not only the first one Spiff's validator reports."""
    if name.endswith(".dmn"):
        from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS

        schema_path = SCHEMAS.get(root.nsmap.get(None) or root.nsmap.get("dmn") or "")
        if schema_path is None:
            out.add(name, root, f"不支持的 DMN 版本（命名空间 {root.nsmap.get(None)}）",
                    element_type="definitions")
            return False
        schema = _dmn_schema(schema_path)
    else:
        schema = VALIDATOR.validator
        VALIDATOR.preprocess(root)
    with _xsd_lock:
        ok = schema.validate(root)
        errors = list(schema.error_log)
    for err in errors[:20]:
        message = engine_messages.translate_xsd(err.message.replace(f"{{{BPMN_NS}}}", "bpmn:"))
        out.add(name, None, f"不符合 {'DMN' if name.endswith('.dmn') else 'BPMN'} 规范：{message}",
                line=err.line)
    return ok


_dmn_schemas: dict[str, etree.XMLSchema] = {}


def _dmn_schema(path: str) -> etree.XMLSchema:
    schema = _dmn_schemas.get(path)
    if schema is None:
        with open(path, "rb") as fh:
            schema = _dmn_schemas[path] = etree.XMLSchema(etree.parse(fh))
    return schema


def _spiff_issue(exc: ValidationException, trees: Mapping[str, etree._Element], out: _Collector,
                 prefix: str) -> None:
    file, el = _find_by_id(trees, getattr(exc, "id", None) or None, getattr(exc, "file_name", None) or None)
    if out.reported(file, getattr(exc, "id", None) or None):
        return  # already reported by a more specific check of ours
    line = exc.line_number if isinstance(exc.line_number, int) else None
    tag = (getattr(exc, "tag", "") or "").removeprefix("bpmn:") or None
    message = f"{prefix}：{engine_messages.translate(str(exc.args[0]) if exc.args else '')}"
    out.add(file or "", el, message, line=line, element_id=getattr(exc, "id", None) or None,
            element_type=tag)




def _spiff_parse(trees: Mapping[str, etree._Element], schema_ok: Mapping[str, bool],
                 out: _Collector) -> SpiffBpmnParser | None:
    # The XSD was checked above with all errors; Spiff's own validator would only repeat the first.
    parser = SpiffBpmnParser()
    ok = True
    for name in sorted(trees, key=lambda n: (not n.endswith(".dmn"), n)):
        if not schema_ok.get(name):
            ok = False
            continue
        try:
            if name.endswith(".dmn"):
                parser.add_dmn_xml(trees[name], filename=name)
            else:
                parser.add_bpmn_xml(trees[name], filename=name)
        except ValidationException as exc:
            _spiff_issue(exc, trees, out, "流程定义错误")
            ok = False
        except Exception as exc:  # Spiff indexes attributes without checks in places
            out.add(name, None, f"流程定义无法解析：{type(exc).__name__}: {exc}")
            ok = False
    return parser if ok else None


def _check_specs(trees: Mapping[str, etree._Element], parser: SpiffBpmnParser, out: _Collector, *,
                 subprocesses: bool) -> None:
    for process_id in list(parser.process_parsers):
        try:
            parser.get_spec(process_id)
            if subprocesses:  # a missing calledElement was reported with its line already
                parser.get_subprocess_specs(process_id)
        except ValidationException as exc:
            _spiff_issue(exc, trees, out, "流程定义错误")
        except Exception as exc:
            file, el = _find_by_id(trees, process_id)
            out.add(file or "", el, f"流程 {process_id} 无法解析：{type(exc).__name__}: {exc}")
    for dmn_id, dmn_parser in parser.dmn_parsers.items():
        try:
            dmn_parser.parse()
        except ValidationException as exc:
            _spiff_issue(exc, trees, out, "决策表错误")
        except Exception as exc:
            file, el = _find_by_id(trees, dmn_id)
            out.add(file or "", el, f"决策表 {dmn_id} 无法解析：{type(exc).__name__}: {exc}")


def _check_references(trees: Mapping[str, etree._Element], out: _Collector) -> bool:
    """Missing DMN decisions and called processes, with the line of the referring element.

    Returns whether every calledElement resolves."""
    calls_ok = True
    process_ids = {p.get("id") for root in trees.values() for p in root.iterfind(f".//{{{BPMN_NS}}}process")}
    decision_ids = {d.get("id") for name, root in trees.items() if name.endswith(".dmn")
                    for d in root.iter("{*}decision")}
    for name, root in trees.items():
        if not is_bpmn_name(name):
            continue
        for task in root.iterfind(".//bpmn:businessRuleTask", NS):
            ref = task.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", None, NS)
            if not (ref or "").strip():
                out.add(name, task, f"业务规则任务 {task.get('id')} 未指定决策表（calledDecisionId）")
            elif ref.strip() not in decision_ids:
                out.add(name, task, f"业务规则任务 {task.get('id')} 引用的决策表 {ref.strip()} 不在流程包中")
        for call in root.iterfind(".//bpmn:callActivity", NS):
            ref = call.get("calledElement")
            if not ref:
                out.add(name, call, f"调用活动 {call.get('id')} 未指定被调用流程（calledElement）")
                calls_ok = False
            elif ref not in process_ids:
                out.add(name, call, f"调用活动 {call.get('id')} 引用的流程 {ref} 不在流程包中")
                calls_ok = False
    return calls_ok


# -- govflow conventions ----------------------------------------------------------------------------------

def _check_user_tasks(name: str, root: etree._Element, out: _Collector,
                      form_exists: Callable[[str], bool] | None) -> None:
    in_lane = {(ref.text or "").strip() for ref in root.iterfind(".//bpmn:laneSet//bpmn:flowNodeRef", NS)}
    for task in root.iterfind(".//bpmn:userTask", NS):
        task_id = task.get("id")
        props = {p.get("name"): p.get("value") for p in
                 task.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
        form = (props.get("form") or "").strip()
        if not form:
            out.add(name, task, f"用户任务 {task_id} 缺少扩展属性 form（办理表单）")
        elif form_exists is not None and not form_exists(form):
            out.add(name, task, f"用户任务 {task_id} 的表单 {form} 不存在")
        sla = props.get("sla_days")
        if sla is None or not sla.strip():
            out.add(name, task, f"用户任务 {task_id} 缺少扩展属性 sla_days（办理时限，工作日）")
        elif not (sla.strip().isdecimal() and int(sla) > 0):
            out.add(name, task,
                    f"用户任务 {task_id} 的 sla_days 必须是正整数（办理时限，工作日），当前为 {sla!r}")
        if task_id not in in_lane:
            out.add(name, task, f"用户任务 {task_id} 不在任何泳道中（引擎按泳道分派办理人）")
        if props.get(approval.MODE_PROPERTY) is not None:
            _check_approval_mode(name, task, props, out)


def _check_approval_mode(name: str, task: etree._Element, props: Mapping[str, str | None],
                         out: _Collector) -> None:
    """`approval_mode` (service.engine.approval): a multi-instance task whose completionCondition and
    isSequential are the ones the mode means, and whose decision field enters the engine."""
    task_id = task.get("id")
    try:
        mode = approval.parse_mode(props.get(approval.MODE_PROPERTY))
    except approval.ApprovalModeError as exc:
        out.add(name, task, f"用户任务 {task_id} 的扩展属性 approval_mode：{exc}")
        return
    loop = task.find("bpmn:multiInstanceLoopCharacteristics", NS)
    if loop is None:
        out.add(name, task, f"用户任务 {task_id} 设置了审批方式 {mode.label}，但不是多实例任务"
                            "（需要 multiInstanceLoopCharacteristics）")
        return
    sequential = (loop.get("isSequential") or "false").strip() == "true"
    if sequential != mode.sequential:
        want = "依次执行（isSequential=true）" if mode.sequential else "并行执行（isSequential=false）"
        out.add(name, loop, f"用户任务 {task_id} 的审批方式为 {mode.label}，多实例应为{want}",
                element_id=task_id, element_type="userTask")
    cond = loop.find("bpmn:completionCondition", NS)
    if cond is None or not approval.same_condition(cond.text, mode.condition):
        out.add(name, cond if cond is not None else loop,
                f"用户任务 {task_id} 的审批方式为 {mode.label}，多实例完成条件应为 {mode.condition}"
                f"（当前为 {(cond.text or '').strip() if cond is not None else '空'}）",
                element_id=task_id, element_type="userTask")
    field_name = (props.get(approval.FIELD_PROPERTY) or approval.DEFAULT_FIELD).strip()
    outputs = [n.strip() for n in (props.get("outputs") or "").split(",")]
    if field_name not in outputs:
        out.add(name, task, f"用户任务 {task_id} 的审批方式需要把决定字段 {field_name} 列入扩展属性 outputs")
    result = (props.get(approval.RESULT_PROPERTY) or approval.DEFAULT_RESULT).strip()
    if not result.isidentifier():
        out.add(name, task, f"用户任务 {task_id} 的扩展属性 approval_result 应为变量名，当前为 {result!r}")
