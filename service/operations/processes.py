"""Deploying process versions: validate, parse once, store sources and the serialized spec."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain.access import Actor, require_designer
from service.domain.deadlines import parse_rule
from service.domain.errors import BundleRejected, Conflict, NotFound
from service.engine import bundle_diff, engine_messages, runnability
from service.engine.dialects import is_bpmn_name, is_model_name
from service.engine.state import dump_specs
from service.engine.validation import (
    ValidationIssue,
    XmlRefused,
    load_parser,
    parse_xml,
    source_text,
    text_to_xml_bytes,
    validate_bundle,
)
from service.operations import people, process_deploys
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import ProcessVersion, Unit

MAIN_PROCESS = "govflow_lifecycle"


@dataclass(frozen=True)
class Deployed:
    id: int
    process_key: str
    version: int
    created: bool
    # Made current by this call (a new version, or an identical older one deployed again).
    promoted: bool = False
    replaced_version: int | None = None


def bundle_from_directory(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if is_model_name(p.name)}


def _govflow_issues(files: Mapping[str, bytes]) -> list[ValidationIssue]:
    """Checks of govflow's own extension properties that Spiff knows nothing about."""
    from lxml import etree

    issues = []
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
    for name, content in files.items():
        if not is_bpmn_name(name):
            continue
        try:
            root = parse_xml(content)  # hardened: no DTD, entities or network
        except (etree.XMLSyntaxError, XmlRefused):
            continue  # reported by validate_bundle
        for prop in root.iterfind(".//bpmn:userTask//spiffworkflow:property[@name='deadline']", ns):
            task = prop.getparent().getparent().getparent()
            try:
                parse_rule(prop.get("value", ""))
            except ValueError as exc:
                issues.append(ValidationIssue(file=name, line=prop.sourceline, element_id=task.get("id"),
                                              element_type="userTask", message=str(exc)))
    return issues


def _lane_problem(unit_names: set[str]) -> runnability.LaneProblem:
    """How a lane resolves at run time (progress.resolve_unit), checked before a version can go live."""
    from service.operations.progress import DECLARER_LANE, PARTICIPANT_LANE

    def problem(name: str | None, multi_instance: bool) -> str | None:
        if name == PARTICIPANT_LANE:
            if multi_instance:
                return None
            return f"{PARTICIPANT_LANE}泳道中的任务必须是多实例任务（每个参建单位一个实例，单位取自多实例的元素）"
        if name == DECLARER_LANE or (name is not None and name in unit_names):
            return None
        return (f"{'泳道没有名称' if name is None else f'“{name}”不是单位名称'}，无法对应到办理单位。修改方法："
                f"把泳道命名为"
                f"{DECLARER_LANE}、{PARTICIPANT_LANE}或单位全称（如 市大数据局）")
    return problem


def validate(ctx: Govflow, files: Mapping[str, bytes], process_key: str = MAIN_PROCESS) -> list[ValidationIssue]:
    """The one checker of a bundle, for POST /validate, the preview, deploy and rollback alike."""
    issues = list(validate_bundle(files, form_exists=ctx.forms.exists, helpers=ctx.script_engine_helpers()))
    lane_problem = first_task = None
    if process_key == MAIN_PROCESS:  # the lifecycle: every human task must land at a unit, and it starts by declaring
        from service.operations.declaration_rules import DECLARATION_TASK

        with ctx.db.session() as s:
            lane_problem = _lane_problem(set(s.scalars(select(Unit.name))))
        first_task = DECLARATION_TASK
    issues += runnability.check(files, process_key, lane_problem=lane_problem, first_task=first_task,
                                form_exists=ctx.forms.exists)
    from service.engine.decisions import reference_issues  # opinion_rule / opinion_sources (docs/opinions.md)

    return issues + _govflow_issues(files) + reference_issues(files)


def _checksum(files: Mapping[str, bytes]) -> str:
    checksum = hashlib.sha256()
    for name in sorted(files):
        checksum.update(name.encode() + b"\0" + files[name] + b"\0")
    return checksum.hexdigest()


def _stale(current: ProcessVersion | None, replaces: int | None) -> Conflict:
    now = f"版本 {current.version}（{current.deployed_by} 部署）" if current else "尚无版本"
    return Conflict(f"预览之后流程已有变化：当前最新为{now}，不是预览时要替换的版本（id {replaces}）。"
                    f"请重新预览后再确认")


def deploy(ctx: Govflow, files: Mapping[str, bytes], actor: Actor, process_key: str = MAIN_PROCESS, *,
           promote: bool = False, replaces: int | None = None, reason: str | None = None) -> Deployed:
    """Validate and store a new version and make it current; an identical bundle is not stored twice.

    `promote`: an identical bundle of an older version makes that version current again (designers'
    deploys; startup passes False so that a restart never undoes a designer's choice). `replaces`: the
    version id the designer previewed as being replaced; another deploy in between is a Conflict."""
    require_designer(actor)
    issues = validate(ctx, files, process_key)
    if issues:
        raise BundleRejected([i.to_dict() for i in issues])
    digest = _checksum(files)
    with ctx.db.session() as s:
        locks.named(s, f"deploy:{process_key}")  # two designers at once: two versions, in turn
        current = process_deploys.current_version(s, process_key)
        if replaces is not None and (current.id if current else None) != replaces:
            raise _stale(current, replaces)
        existing = s.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key,
                                                         ProcessVersion.checksum == digest))
        if existing is not None:
            if not promote or (current is not None and current.id == existing.id):
                return Deployed(existing.id, process_key, existing.version, created=False)
            changes = _changes(current, files)
            process_deploys.make_current(ctx, s, existing, current, action="redeploy", actor=actor, reason=reason,
                                         changes=bundle_diff.summary(changes))
            return Deployed(existing.id, process_key, existing.version, created=False, promoted=True,
                            replaced_version=current.version if current else None)
        parser = load_parser(files)
        try:
            spec = parser.get_spec(process_key)
            subprocess_specs = parser.get_subprocess_specs(process_key)
        except Exception as exc:  # validate() answers these first; kept so nothing unlocated escapes
            raise BundleRejected([{"file": None, "line": None, "element_id": process_key, "element_type": "process",
                                   "message": f"流程 {process_key} 无法解析："
                                              f"{engine_messages.translate(str(exc))}"}]) from exc
        latest = s.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == process_key))
        version = ProcessVersion(
            process_key=process_key,
            version=(latest or 0) + 1,
            checksum=digest,
            # Decoded as the parser read them (GBK, UTF-16 …), declaration rewritten to UTF-8.
            sources={k: source_text(v) for k, v in files.items()},
            spec_json=dump_specs(spec, subprocess_specs),
            deployed_by=actor.user,
        )
        s.add(version)
        s.flush()
        process_deploys.make_current(ctx, s, version, current, action="deploy", actor=actor, reason=reason,
                                     changes=bundle_diff.summary(_changes(current, files)))
        return Deployed(version.id, process_key, version.version, created=True, promoted=True,
                        replaced_version=current.version if current else None)


def latest_version(session: Session, process_key: str = MAIN_PROCESS) -> ProcessVersion:
    """The current version: the one new declarations start on (the newest deploy record's)."""
    version = process_deploys.current_version(session, process_key)
    if version is None:
        raise NotFound(f"流程 {process_key} 尚未部署")
    return version


# -- preview and rollback ----------------------------------------------------------------------------------

def version_files(version: ProcessVersion) -> dict[str, bytes]:
    """A stored version's sources as the bytes a bundle upload would carry (UTF-8, as stored)."""
    return {name: text_to_xml_bytes(text) for name, text in version.sources.items()}


def _changes(current: ProcessVersion | None, files: Mapping[str, bytes]) -> dict[str, Any]:
    before = bundle_diff.read_model(version_files(current)) if current is not None else None
    return bundle_diff.diff(before, bundle_diff.read_model(files))


def _info(s: Session, v: ProcessVersion | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {"id": v.id, "process_key": v.process_key, "version": v.version, "deployed_by": v.deployed_by,
            "deployed_by_name": people.name_of(s, v.deployed_by), "deployed_at": v.deployed_at.isoformat(),
            "checksum": v.checksum}


def preview(ctx: Govflow, files: Mapping[str, bytes], actor: Actor, process_key: str = MAIN_PROCESS) -> dict[str, Any]:
    """What deploying `files` would do, before it goes live: the version it replaces, the problems
    (the same checker as deploy), and the changes of elements, flows, forms and lanes."""
    require_designer(actor)
    issues = validate(ctx, files, process_key)
    digest = _checksum(files)
    with ctx.db.session() as s:
        current = process_deploys.current_version(s, process_key)
        same = s.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key,
                                                     ProcessVersion.checksum == digest))
        changes = _changes(current, files)
        if same is not None and current is not None and same.id == current.id:
            effect = "unchanged"
        else:
            effect = "make_current" if same is not None else "new_version"
        return {"process_key": process_key, "replaces": _info(s, current), "same_as": _info(s, same), "effect": effect,
                "valid": not issues, "issues": [i.to_dict() for i in issues], "changes": changes}


def rollback_preview(ctx: Govflow, version_id: int, actor: Actor) -> dict[str, Any]:
    """What making an earlier version current again would change, and whether it can still run."""
    require_designer(actor)
    with ctx.db.session() as s:
        target = process_deploys.get_version(s, version_id)
        files, key = version_files(target), target.process_key
        current = process_deploys.current_version(s, key)
        changes = _changes(current, files)
        info, replaces = _info(s, target), _info(s, current)
    issues = validate(ctx, files, key)
    return {"process_key": key, "version": info, "replaces": replaces,
            "effect": "unchanged" if replaces and info and replaces["id"] == info["id"] else "make_current",
            "valid": not issues, "issues": [i.to_dict() for i in issues], "changes": changes}


def rollback(ctx: Govflow, version_id: int, actor: Actor, *, replaces: int | None = None,
             reason: str | None = None) -> Deployed:
    """Make an earlier version current again (new declarations start on it; running instances keep
    theirs). Checked by the same checker as a deploy: a version that could no longer run (a lane's
    unit or a form gone since) is refused. Audited; serialised with deploys on `deploy:<key>`."""
    require_designer(actor)
    with ctx.db.session() as s:
        target = process_deploys.get_version(s, version_id)
        files, key = version_files(target), target.process_key
    issues = validate(ctx, files, key)
    if issues:
        raise BundleRejected([i.to_dict() for i in issues])
    with ctx.db.session() as s:
        locks.named(s, f"deploy:{key}")
        target = process_deploys.get_version(s, version_id)
        current = process_deploys.current_version(s, key)
        if replaces is not None and (current.id if current else None) != replaces:
            raise _stale(current, replaces)
        if current is not None and current.id == target.id:
            return Deployed(target.id, key, target.version, created=False)
        process_deploys.make_current(ctx, s, target, current, action="rollback", actor=actor, reason=reason,
                                     changes=bundle_diff.summary(_changes(current, files)))
        return Deployed(target.id, key, target.version, created=False, promoted=True,
                        replaced_version=current.version if current else None)
