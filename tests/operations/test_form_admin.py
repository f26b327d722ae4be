"""Form revisions across processes: another process serves a saved revision after its recheck
interval, and the check inside a completion's write transaction neither deadlocks nor joins it."""
from __future__ import annotations

import copy
import time

import pytest

from service.domain.access import Actor
from service.domain.errors import Forbidden, NotFound, ValidationFailed
from service.operations import form_admin, tasks
from service.operations.context import Govflow
from service.scenario import worker

DESIGNER = Actor("designer", None, frozenset({"designer"}))


def test_another_process_serves_the_new_revision_after_its_recheck(ctx, driver):
    other = Govflow(ctx.settings)
    other.forms.recheck_seconds = 3600  # "within the interval" must not depend on how fast the test runs
    try:
        pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
        driver.run(pid, until="preliminary_review")
        item = driver.item(pid, "preliminary_review")
        assert other.forms.get("preliminary_review").schema == ctx.forms.get("preliminary_review").schema
        schema = copy.deepcopy(ctx.forms.get("preliminary_review").schema)
        schema["properties"]["meeting_no"] = {"type": "string", "title": "会议纪要编号", "minLength": 1}
        schema["required"].append("meeting_no")
        schema["examples"][0]["meeting_no"] = "1号"
        saved = form_admin.save(ctx, "preliminary_review", schema, DESIGNER)
        assert saved["revision"] == 1
        # Within its recheck interval the other process still serves the file ...
        assert "meeting_no" not in other.forms.get("preliminary_review").schema["properties"]
        # ... and after it, the revision; the check runs inside the completion's transaction.
        other.forms._checked = -1e9
        data = driver.answer("preliminary_review", {"meeting_no": None})
        started = time.monotonic()
        with pytest.raises(ValidationFailed) as err:
            tasks.complete(other, item.id, data, worker("市大数据局"))
        assert time.monotonic() - started < 5
        assert [e.path for e in err.value.errors] == ["meeting_no"]
        assert other.forms.source("preliminary_review").source == "db"
    finally:
        other.close()


def test_only_designers_save_and_only_known_forms(ctx):
    schema = ctx.forms.get("review_cac").schema
    with pytest.raises(Forbidden):
        form_admin.save(ctx, "review_cac", schema, Actor("x", "市教育局", frozenset({"department"})))
    with pytest.raises(NotFound):
        form_admin.save(ctx, "brand_new_form", schema, DESIGNER)
    assert form_admin.save(ctx, "review_cac", schema, DESIGNER)["revision"] == 1
    assert form_admin.save(ctx, "review_cac", schema, DESIGNER)["revision"] == 2
    with pytest.raises(ValidationFailed):
        form_admin.save(ctx, "review_cac", {"type": "object", "properties": {"x": {"type": 5}}}, DESIGNER)
    assert ctx.forms.source("review_cac").revision == 2
