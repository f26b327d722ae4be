"""service.storage.row_loader on both databases: the completion's read makes its objects without
the ORM's loading, and they must be what the ORM would have loaded — every column's value and
type, in the identity map, clean, lazy loads and version checks working (docs/performance.md,
seventh pass)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from service.operations import completion_read
from service.storage.models import ProcessInstance, Project, Unit, WorkItem
from service.storage.row_loader import RowLoader


def _columns(obj: object) -> dict[str, object]:
    return {a.key: getattr(obj, a.key) for a in inspect(obj).mapper.column_attrs}


def _same(loaded: object, orm: object) -> None:
    mine, theirs = _columns(loaded), _columns(orm)
    assert mine == theirs
    assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in theirs.items()}


def test_the_completion_read_makes_what_the_orm_loads(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid, until="review_bigdata")
    items = driver.open_items(pid)
    assert len(items) == 4  # the parallel reviews: the read joins the instance's open siblings
    with ctx.db.session() as s:
        # Values of every kind: JSON with Chinese text, a naive datetime with microseconds, a date.
        s.execute(update(WorkItem).where(WorkItem.id == items[0].id).values(
            data={"意见": "同意", "n": [1, 2.5]}, due_at=dt.datetime(2027, 3, 1, 9, 30, 15, 123456),
            due_date=dt.date(2027, 3, 1)))
    with ctx.db.session() as s:
        read = completion_read.load(s, items[0].id)
        made = [read.item, read.instance, read.project, *read.open_items, read.item.unit, read.project.unit]
        for obj in made:
            state = inspect(obj)
            assert state.persistent and obj in s and not state.modified
            assert s.identity_map.get(state.key) is obj
        assert read.item in read.open_items  # one object per row, not one per join row
        assert [w.id for w in read.open_items] == sorted(w.id for w in items)
    with ctx.db.session() as s:
        orm = {(type(o), o.id): o for o in (
            s.get(WorkItem, items[0].id), s.get(ProcessInstance, read.instance.id), s.get(Project, pid),
            *(s.get(WorkItem, w.id) for w in items), s.get(Unit, read.item.unit_id), s.get(Unit, read.project.unit_id))}
        for obj in made:
            _same(obj, orm[(type(obj), obj.id)])
    assert read.item.data == {"意见": "同意", "n": [1, 2.5]}
    assert read.item.due_at == dt.datetime(2027, 3, 1, 9, 30, 15, 123456)


def test_objects_made_by_the_loader_track_changes_and_versions(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    (item,) = driver.open_items(pid)
    with ctx.db.session() as s:
        read = completion_read.load(s, item.id)
        version = read.item.row_version
        read.item.assignee = "loader-test"
        assert read.item in s.dirty
    with ctx.db.session() as s:
        assert s.get(WorkItem, item.id).assignee == "loader-test"
        assert s.get(WorkItem, item.id).row_version == version + 1
    # A row changed behind the object's back: its flush is a StaleDataError, as after an ORM load.
    with pytest.raises(StaleDataError):
        with ctx.db.session() as s:
            read = completion_read.load(s, item.id)
            s.execute(update(WorkItem).where(WorkItem.id == item.id)
                      .values(row_version=WorkItem.row_version + 1).execution_options(synchronize_session=False))
            read.item.assignee = "lost"
            s.flush()
    with ctx.db.session() as s:
        assert s.get(WorkItem, item.id).assignee == "loader-test"


def test_a_second_read_refreshes_the_objects_in_place_and_relationships_still_load(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    (item,) = driver.open_items(pid)
    with ctx.db.session() as s:
        first = completion_read.load(s, item.id)
        first.item.assignee = "unsaved"  # a second read replaces it, as populate_existing does
        second = completion_read.load(s, item.id)
        assert second.item is first.item and second.project is first.project
        assert first.item.assignee is None and not inspect(first.item).modified


def test_an_outer_join_without_a_match_gives_none_and_extras_come_by_label(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    (item,) = driver.open_items(pid)
    other = aliased(WorkItem, name="other")
    loader = RowLoader({"item": WorkItem, "other": other}, {"doubled": WorkItem.id * 2},
                       lambda q: q.select_from(WorkItem).outerjoin(other, other.id == -1).where(WorkItem.id == item.id))
    with ctx.db.session() as s:
        (row,) = loader.rows(s, {})
        assert row.item.id == item.id and row.other is None and row.doubled == item.id * 2
        # A relationship the loader did not fill loads lazily, through the session.
        assert "unit" not in inspect(row.item).dict
        assert row.item.unit is s.get(Unit, row.item.unit_id) and row.item.unit.name
        with pytest.raises(AttributeError):
            _ = row.missing
