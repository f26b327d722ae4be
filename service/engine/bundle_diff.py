"""What a deploy (or a rollback) changes, read off two bundles' BPMN: elements, flows, forms, lanes.

Shown to the designer before the version goes live and kept on the deploy record. Compared by
element id, which is what running code keys on (work items carry the task id, forms the task's
`form` property, units the lane's name)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from service.engine.dialects import is_bpmn_name
from service.engine.validation import BPMN_NS, NS, XmlRefused, parse_xml

__all__ = ["Model", "diff", "read_model"]

_NODE_TAGS = ("task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
              "receiveTask", "callActivity", "subProcess", "transaction", "exclusiveGateway", "parallelGateway",
              "inclusiveGateway", "eventBasedGateway", "complexGateway", "startEvent", "endEvent",
              "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent")
_HUMAN = ("userTask", "manualTask")


class Model:
    """The parts of a bundle a diff compares."""

    def __init__(self) -> None:
        self.elements: dict[str, dict[str, str]] = {}   # id → {type, name}
        self.flows: dict[str, tuple[str, str]] = {}      # id → (source, target)
        self.forms: dict[str, str] = {}                  # human task id → form
        self.lanes: dict[str, str] = {}                  # flow node id → lane name
        self.files: dict[str, bytes] = {}


def read_model(files: Mapping[str, bytes]) -> Model:
    model = Model()
    model.files = dict(files)
    for name in sorted(files):
        if not is_bpmn_name(name):
            continue
        try:
            root = parse_xml(files[name])
        except (etree.XMLSyntaxError, XmlRefused):
            continue
        for el in root.iter(*(f"{{{BPMN_NS}}}{t}" for t in _NODE_TAGS)):
            if el.get("id"):
                model.elements[el.get("id") or ""] = {"type": etree.QName(el).localname,
                                                       "name": (el.get("name") or "").strip()}
        for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            if flow.get("id"):
                model.flows[flow.get("id") or ""] = (flow.get("sourceRef") or "", flow.get("targetRef") or "")
        for task in root.iter(*(f"{{{BPMN_NS}}}{t}" for t in _HUMAN)):
            for prop in task.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
                if prop.get("name") == "form" and task.get("id"):
                    model.forms[task.get("id") or ""] = (prop.get("value") or "").strip()
        for lane in root.iter(f"{{{BPMN_NS}}}lane"):
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                model.lanes[(ref.text or "").strip()] = (lane.get("name") or "").strip()
    return model


def _element(model: Model, element_id: str) -> dict[str, str]:
    return {"id": element_id, **model.elements[element_id], "lane": model.lanes.get(element_id, "")}


def diff(before: Model | None, after: Model) -> dict[str, Any]:
    """Changes from `before` (the version being replaced; None when there is none) to `after`."""
    old = before or Model()
    added = sorted(set(after.elements) - set(old.elements))
    removed = sorted(set(old.elements) - set(after.elements))
    changed = [{"id": i, "before": old.elements[i], "after": after.elements[i]}
               for i in sorted(set(old.elements) & set(after.elements)) if old.elements[i] != after.elements[i]]
    form_changes = [{"task": t, "before": old.forms.get(t), "after": after.forms.get(t)}
                    for t in sorted(set(old.forms) | set(after.forms)) if old.forms.get(t) != after.forms.get(t)]
    lane_moves = [{"element": e, "before": old.lanes[e], "after": after.lanes[e]}
                  for e in sorted(set(old.lanes) & set(after.lanes)) if old.lanes[e] != after.lanes[e]]
    old_lanes, new_lanes = set(old.lanes.values()), set(after.lanes.values())
    old_forms, new_forms = set(old.forms.values()), set(after.forms.values())
    files_changed = sorted(n for n in set(old.files) & set(after.files) if old.files[n] != after.files[n])
    out = {
        "elements": {"added": [_element(after, i) for i in added], "removed": [_element(old, i) for i in removed],
                     "changed": changed},
        "flows": {"added": sorted(set(after.flows) - set(old.flows)),
                  "removed": sorted(set(old.flows) - set(after.flows)),
                  "rewired": sorted(f for f in set(old.flows) & set(after.flows) if old.flows[f] != after.flows[f])},
        "forms": {"added": sorted(new_forms - old_forms), "removed": sorted(old_forms - new_forms),
                  "tasks": form_changes},
        "lanes": {"added": sorted(new_lanes - old_lanes), "removed": sorted(old_lanes - new_lanes),
                  "moved": lane_moves},
        "files": {"added": sorted(set(after.files) - set(old.files)),
                  "removed": sorted(set(old.files) - set(after.files)),
                  "changed": files_changed},
    }
    out["unchanged"] = not any(v for part in out.values() if isinstance(part, dict) for v in part.values())
    return out


def summary(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Counts and ids for the deploy record (the full diff can be recomputed from the two versions)."""
    return {
        "elements_added": [e["id"] for e in changes["elements"]["added"]],
        "elements_removed": [e["id"] for e in changes["elements"]["removed"]],
        "elements_changed": [e["id"] for e in changes["elements"]["changed"]],
        "flows_added": len(changes["flows"]["added"]), "flows_removed": len(changes["flows"]["removed"]),
        "forms_added": changes["forms"]["added"], "forms_removed": changes["forms"]["removed"],
        "lanes_added": changes["lanes"]["added"], "lanes_removed": changes["lanes"]["removed"],
    }
