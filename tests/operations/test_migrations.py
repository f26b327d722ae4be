"""The migrated schema is the models' schema, on both databases: a model change without its
revision (or a revision the models do not know) fails here rather than at a customer's upgrade."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.storage.models import Base


def test_migrated_schema_matches_the_models(ctx):  # type: ignore[no-untyped-def]
    with ctx.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []
