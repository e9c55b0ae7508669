"""artifacts.db.migrate: the migrations build the schema the models describe,
on a fresh database of each kind."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from artifacts.db import migrate, models, session
from tests.conftest import database_url, selected_databases

TABLES = {"artifacts", "artifact_properties", "artifact_tags",
          "artifact_blobs", "artifact_members"}


@pytest.fixture(scope="module", params=selected_databases())
def fresh(request, tmp_path_factory):
    """(engine, current revision before any migration)."""
    kind = request.param
    tmp = tmp_path_factory.mktemp("db-migrate-%s" % kind)
    with database_url(kind, tmp) as url:
        eng = session.make_engine(url)
        before = migrate.current(eng)
        migrate.upgrade(eng)
        try:
            yield eng, before
        finally:
            eng.dispose()


def test_head_is_a_single_known_revision():
    # One linear history: get_current_head raises if the script directory
    # has branched (two migrations claiming the same parent).
    head = migrate.head()
    assert head is not None and head.isdigit() and len(head) == 4


def test_empty_database_has_no_revision(fresh):
    _, before = fresh
    assert before is None


def test_upgrade_reaches_head(fresh):
    engine, _ = fresh
    assert migrate.current(engine) == migrate.head()


def test_upgrade_again_is_a_no_op(fresh):
    engine, _ = fresh
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()


def test_every_table_exists(fresh):
    engine, _ = fresh
    tables = set(sa.inspect(engine).get_table_names())
    assert TABLES <= tables
    assert "alembic_version" in tables


def test_migrated_schema_matches_the_models(fresh):
    """No drift between models.py and what the migrations create (columns,
    types, nullability, indexes, unique constraints, foreign keys)."""
    engine, _ = fresh
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, models.metadata)
    assert diffs == []


def test_foreign_keys_cascade(fresh):
    engine, _ = fresh
    inspector = sa.inspect(engine)
    for table in TABLES - {"artifacts"}:
        fks = inspector.get_foreign_keys(table)
        assert len(fks) == 1, table
        assert fks[0]["referred_table"] == "artifacts"
        assert (fks[0].get("options") or {}).get("ondelete", "").upper() \
            == "CASCADE", table


def test_blob_slot_is_unique_per_artifact(fresh):
    engine, _ = fresh
    uniques = sa.inspect(engine).get_unique_constraints("artifact_blobs")
    indexes = sa.inspect(engine).get_indexes("artifact_blobs")
    unique_sets = [set(u["column_names"]) for u in uniques] + [
        set(i["column_names"]) for i in indexes if i.get("unique")]
    assert {"artifact_id", "slot"} in unique_sets
