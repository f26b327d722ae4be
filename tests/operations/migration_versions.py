"""Variants of the deployed lifecycle for instance-migration tests, derived from processes/ at test
time so they follow the real process as it changes."""
from __future__ import annotations

import re

from service.config import REPO_ROOT

LIFECYCLE = "lifecycle.bpmn"
FLOW = "f_join_review__review_consolidate"
CHECK_TASK = "review_finance_check"


def bundle_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (REPO_ROOT / "processes").iterdir() if p.suffix in (".bpmn", ".dmn")}


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def with_check_after_review() -> dict[str, bytes]:
    """v2: after the four reviews join, 市财政局 checks the materials (a new user task) before
    出具评审意见. Everything that exists keeps its id, lane and form."""
    files = bundle_files()
    xml = files[LIFECYCLE].decode()
    xml = _replace_once(xml, f'<bpmn:sequenceFlow id="{FLOW}" sourceRef="join_review" targetRef="review_consolidate"',
                        f'<bpmn:sequenceFlow id="{FLOW}" sourceRef="join_review" targetRef="{CHECK_TASK}"')
    xml = _replace_once(xml, '<bpmn:userTask id="review_consolidate"', f'''
    <bpmn:userTask id="{CHECK_TASK}" name="财政复核评审材料">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form" value="preliminary_opinion" />
          <spiffworkflow:property name="sla_days" value="3" />
          <spiffworkflow:property name="stage" value="方案评审" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>{FLOW}</bpmn:incoming>
      <bpmn:outgoing>f_check__review_consolidate</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f_check__review_consolidate" sourceRef="{CHECK_TASK}" targetRef="review_consolidate" />
    <bpmn:userTask id="review_consolidate"''')
    xml = re.sub(r'(<bpmn:userTask id="review_consolidate".*?<bpmn:incoming>)' + FLOW + '(</bpmn:incoming>)',
                 r'\1f_check__review_consolidate\2', xml, count=1, flags=re.S)
    lane = re.search(r'<bpmn:lane id="(lane_\d+)" name="市财政局">', xml)
    assert lane is not None
    opening = f'<bpmn:lane id="{lane.group(1)}" name="市财政局">'
    xml = _replace_once(xml, opening, f"{opening}\n        <bpmn:flowNodeRef>{CHECK_TASK}</bpmn:flowNodeRef>")
    files[LIFECYCLE] = xml.encode()
    return files


def without_police_review() -> dict[str, bytes]:
    """v3: 市公安局's review renamed (a new id): an instance waiting there cannot move."""
    files = bundle_files()
    xml = files[LIFECYCLE].decode()
    xml = re.sub(r'(?<=["> ,])review_police(?=["<,])', "review_public_security", xml)
    # The element moves; its form keeps its name.
    xml = xml.replace('name="form" value="review_public_security"', 'name="form" value="review_police"')
    files[LIFECYCLE] = xml.encode()
    return files
