"""Names shared by the checks that walk BPMN/DMN trees with lxml."""
from __future__ import annotations

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}


def local(el: etree._Element) -> str:
    """An element's tag without its namespace (userTask, sequenceFlow …)."""
    return etree.QName(el).localname
