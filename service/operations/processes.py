"""Deploying process versions: validate, parse once, store sources and the serialized spec."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain.access import Actor, require_designer
from service.domain.deadlines import parse_rule
from service.domain.errors import BundleRejected, NotFound
from service.engine.state import dump_specs
from service.engine.validation import (
    ValidationIssue,
    XmlRefused,
    load_parser,
    parse_xml,
    source_text,
    validate_bundle,
)
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import ProcessVersion

MAIN_PROCESS = "govflow_lifecycle"


@dataclass(frozen=True)
class Deployed:
    id: int
    process_key: str
    version: int
    created: bool


def bundle_from_directory(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.suffix in (".bpmn", ".dmn")}


def _govflow_issues(files: Mapping[str, bytes]) -> list[ValidationIssue]:
    """Checks of govflow's own extension properties that Spiff knows nothing about."""
    from lxml import etree

    issues = []
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
    for name, content in files.items():
        if not name.endswith(".bpmn"):
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


def validate(ctx: Govflow, files: Mapping[str, bytes]) -> list[ValidationIssue]:
    issues = list(validate_bundle(files, form_exists=ctx.forms.exists, helpers=ctx.script_engine_helpers()))
    return issues + _govflow_issues(files)


def deploy(ctx: Govflow, files: Mapping[str, bytes], actor: Actor, process_key: str = MAIN_PROCESS) -> Deployed:
    require_designer(actor)
    issues = validate(ctx, files)
    if issues:
        raise BundleRejected([i.to_dict() for i in issues])
    checksum = hashlib.sha256()
    for name in sorted(files):
        checksum.update(name.encode() + b"\0" + files[name] + b"\0")
    digest = checksum.hexdigest()
    with ctx.db.session() as s:
        locks.named(s, f"deploy:{process_key}")  # two designers at once: two versions, in turn
        existing = s.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key,
                                                         ProcessVersion.checksum == digest))
        if existing is not None:
            return Deployed(existing.id, process_key, existing.version, created=False)
        parser = load_parser(files)
        try:
            spec = parser.get_spec(process_key)
        except Exception as exc:
            raise BundleRejected([{"file": None, "line": None, "element_id": process_key, "element_type": "process",
                                   "message": f"流程包中没有可执行流程 {process_key}：{exc}"}]) from exc
        subprocess_specs = parser.get_subprocess_specs(process_key)
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
        return Deployed(version.id, process_key, version.version, created=True)


def latest_version(session: Session, process_key: str = MAIN_PROCESS) -> ProcessVersion:
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key)
                             .order_by(ProcessVersion.version.desc()).limit(1))
    if version is None:
        raise NotFound(f"流程 {process_key} 尚未部署")
    return version
