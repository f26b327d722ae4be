"""Forms admin: designers revise the JSON Schema of a task form; everyone signed in reads them.

A revision is checked before it is saved: a valid draft 2020-12 schema, its `examples[0]` valid
against it, and the engine-field contract of forms/README.md (the `outputs` of the user tasks that
use the form, in the latest main process version, stay in the form with a compatible type, and
stay required if they were). Revisions are appended to form_revisions; the newest one is served
over the file (service.operations.context.FormStore). Only forms that have a file can be revised:
a name is a task's `form` property, so a new name would be a form no task uses."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.domain.access import Actor, require_designer
from service.domain.cross_field_rules import RULES_KEY
from service.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from service.domain.forms import Form, FormDefinitionError
from service.operations import process_deploys
from service.operations.context import Govflow
from service.operations.processes import MAIN_PROCESS
from service.storage import locks
from service.storage.models import FormRevision, utcnow

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


class FormRejected(ValidationFailed):
    """422: the revision is not saved; `issues` (also `errors`) name the path and the problem."""

    def __init__(self, issues: list[FieldError]) -> None:
        super().__init__(issues, message="表单定义校验未通过，未保存")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["issues"] = [e.to_dict() for e in self.errors]
        return out


def _latest_user_tasks(ctx: Govflow) -> dict[str, Mapping[str, str]]:
    """User task id → properties in the newest version of the main process ({} before any deploy)."""
    with ctx.db.session() as s:
        version = process_deploys.current_version(s, MAIN_PROCESS)  # after a rollback, not the highest number
        if version is None:
            return {}
        return ctx.runtime(s, version.id).user_task_properties()


def _tasks_using(tasks: Mapping[str, Mapping[str, str]], name: str) -> list[str]:
    return sorted(task for task, props in tasks.items() if props.get("form") == name)


def _outputs(tasks: Mapping[str, Mapping[str, str]], name: str) -> dict[str, list[str]]:
    """Engine fields of the form → the tasks that read them into the engine."""
    out: dict[str, list[str]] = {}
    for task in _tasks_using(tasks, name):
        for field in (f.strip() for f in tasks[task].get("outputs", "").split(",")):
            if field:
                out.setdefault(field, []).append(task)
    return out


def list_forms(ctx: Govflow) -> list[dict[str, Any]]:
    tasks = _latest_user_tasks(ctx)
    out = []
    for name in ctx.forms.names():
        src = ctx.forms.source(name)
        out.append({"name": name, "title": ctx.forms.get(name).title, "revision": src.revision,
                    "source": src.source, "tasks": _tasks_using(tasks, name)})
    return out


def get_form(ctx: Govflow, name: str) -> dict[str, Any]:
    src = ctx.forms.source(name)  # NotFound for an unknown name
    return {"name": name, "schema": ctx.forms.get(name).schema, "revision": src.revision, "source": src.source,
            "saved_by": src.saved_by, "saved_at": src.saved_at.isoformat() if src.saved_at else None,
            "tasks": _tasks_using(_latest_user_tasks(ctx), name)}


def _require_known(ctx: Govflow, name: str) -> None:
    if not ctx.forms.exists(name):
        raise NotFound(f"表单 {name} 不存在")


def _types(node: Any) -> set[str]:
    t = node.get("type") if isinstance(node, dict) else None
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {x for x in t if isinstance(x, str)}
    return set()


def _property(schema: Mapping[str, Any], field: str) -> tuple[dict[str, Any] | None, bool]:
    """(definition, required) of a top-level field, looking into if/then and allOf branches as the
    forms do for conditional fields."""
    nodes: list[Any] = [schema]
    for key in ("then", "else"):
        nodes.append(schema.get(key))
    nodes.extend(schema.get("allOf") or [])
    for branch in list(schema.get("allOf") or []):
        if isinstance(branch, dict):
            nodes.extend([branch.get("then"), branch.get("else")])
    definition = None
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("properties"), dict) and field in node["properties"]:
            definition = node["properties"][field]
            break
    required = isinstance(schema.get("required"), list) and field in schema["required"]
    return (definition if isinstance(definition, dict) else None), required


def check_schema(ctx: Govflow, name: str, schema: Any) -> list[FieldError]:
    """Everything wrong with `schema` as the next revision of form `name` (empty when it may be saved)."""
    _require_known(ctx, name)
    if not isinstance(schema, dict):
        return [FieldError("schema", "schema：应为 JSON Schema 对象")]
    issues: list[FieldError] = []
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(p) for p in err.absolute_path)
        return [FieldError(f"schema/{where}".rstrip("/"), f"不是有效的 JSON Schema（draft 2020-12）：{err.message}")]
    if schema.get("$schema", DRAFT_2020_12) != DRAFT_2020_12:
        issues.append(FieldError("schema/$schema", f"$schema 应为 {DRAFT_2020_12}"))
    if schema.get("type") != "object":
        issues.append(FieldError("schema/type", "表单的 type 应为 object"))
    try:
        form = Form(name, schema, ctx.forms.files.directory)
    except FormDefinitionError as exc:  # refused $ref, pattern RE2 cannot run, $ref cycle
        return [*issues, *(FieldError(f"schema/{p.path}".rstrip("/"), p.message) for p in exc.problems)]
    except Exception as exc:  # noqa: BLE001 - anything else the validator cannot be built from
        return [*issues, FieldError("schema", f"表单定义无法使用：{exc}")]
    examples = schema.get("examples")
    if examples is not None:
        if not isinstance(examples, list):
            issues.append(FieldError("schema/examples", "examples 应为数组"))
        elif examples:
            try:
                issues.extend(FieldError(f"schema/examples/0/{e.path}".rstrip("/"), f"示例数据不符合表单：{e.message}")
                              for e in form.validate(examples[0]))
            except Exception as exc:  # noqa: BLE001 - e.g. a `pattern` the regex engine refuses at validation
                issues.append(FieldError("schema/examples/0", f"无法用该表单校验示例数据：{exc}"))
    current = ctx.forms.get(name).schema
    # The cross-field rules are rules of the measures (docs/cross-field-rules.md): added online, dropped only in forms/.
    for rule_id in [r for r in ctx.forms.get(name).rules if r not in form.rules]:
        issues.append(FieldError(f"schema/{RULES_KEY}", f"跨字段规则 {rule_id} 是办法规定的校验，不能在线删除"))
    for field, tasks in sorted(_outputs(_latest_user_tasks(ctx), name).items()):
        used_by = "、".join(tasks)
        new_def, new_required = _property(schema, field)
        old_def, old_required = _property(current, field)
        if new_def is None:
            issues.append(FieldError(f"schema/properties/{field}",
                                     f"字段 {field} 是流程任务 {used_by} 的输出（outputs），不能删除"))
            continue
        old_types, new_types = _types(old_def), _types(new_def)
        if old_types and not old_types <= new_types:
            want = "/".join(sorted(old_types))
            issues.append(FieldError(f"schema/properties/{field}/type",
                                     f"字段 {field} 是流程任务 {used_by} 的输出，类型应保持为 {want}"))
        if old_def and old_def.get("format") and new_def.get("format") != old_def.get("format"):
            issues.append(FieldError(f"schema/properties/{field}/format",
                                     f"字段 {field} 是流程任务 {used_by} 的输出，格式应保持为 {old_def['format']}"))
        if old_required and not new_required:
            issues.append(FieldError("schema/required", f"字段 {field} 是流程任务 {used_by} 的输出，应保持必填"))
    return issues


def validate(ctx: Govflow, name: str, schema: Any, actor: Actor) -> dict[str, Any]:
    require_designer(actor)
    issues = check_schema(ctx, name, schema)
    return {"valid": not issues, "issues": [i.to_dict() for i in issues]}


def save(ctx: Govflow, name: str, schema: Any, actor: Actor) -> dict[str, Any]:
    """Append a revision (designers). Not audited: the audit chains belong to projects and units,
    and a designer acts for neither; the append-only revision row (who, when, checksum) is the record."""
    require_designer(actor)
    issues = check_schema(ctx, name, schema)
    if issues:
        raise FormRejected(issues)
    canonical = json.dumps(schema, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    try:
        with ctx.db.session() as s:
            locks.named(s, f"form:{name}")  # two designers saving at once: two revisions, in turn
            latest = s.scalar(select(func.max(FormRevision.revision)).where(FormRevision.name == name)) or 0
            row = FormRevision(name=name, revision=latest + 1, schema=schema,
                               checksum=hashlib.sha256(canonical.encode()).hexdigest(), saved_by=actor.user,
                               saved_at=utcnow())
            s.add(row)
            s.flush()
            out = {"name": name, "revision": row.revision, "checksum": row.checksum, "source": "db",
                   "saved_by": row.saved_by, "saved_at": row.saved_at.isoformat()}
    except IntegrityError as exc:
        raise Conflict("该表单刚被他人保存了新版本，请刷新后重试") from exc
    # This process serves its own save at once; others within FormStore.recheck_seconds.
    ctx.forms.refresh(force=True)
    return out
