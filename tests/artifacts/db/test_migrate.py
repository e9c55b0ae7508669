"""artifacts.db.migrate: the migrations build the schema the models describe,
on a fresh database of each kind."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from artifacts.db import migrate, session
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
        diffs = compare_metadata(ctx, migrate.full_metadata())
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


@pytest.fixture(params=selected_databases())
def at_0005(request, tmp_path):
    """A database at revision 0005 (before blob_locations)."""
    with database_url(request.param, tmp_path) as url:
        eng = session.make_engine(url)
        migrate.upgrade(eng, "0005")
        try:
            yield eng
        finally:
            eng.dispose()


def test_0006_moves_blob_locations_without_losing_any(at_0005):
    """Existing data keeps every location: a live blob's becomes an
    active location, a retired blob's a pending_delete one (the scrubber
    still finds it), a claim without data gets none; downgrading puts the
    first location back."""
    engine, now = at_0005, "2026-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO artifacts (id, type_name, name, owner, visibility, "
            "status, protected, hidden, deleted, version_major, "
            "version_minor, version_patch, version_prerelease, "
            "version_build, version_sort, revision, created_at, updated_at) "
            "VALUES ('a', 'images', 'n', 'p', 'shared', 'active', false, "
            "false, false, 0, 0, 0, '', '', '', 0, :t, :t)"), {"t": now})
        for slot, status, store, location in [
                ("s1", "active", "file", "file:///data/a/live"),
                (None, "pending_delete", "cold", "file:///data/a/old"),
                ("c1", "saving", None, None)]:
            conn.execute(sa.text(
                "INSERT INTO artifact_blobs (artifact_id, field, path, "
                "position, slot, status, store, location, "
                "location_metadata, external, created_at, updated_at) "
                "VALUES ('a', 'image', :path, 0, :slot, :status, :store, "
                ":location, '{\"k\": \"v\"}', false, :t, :t)"),
                {"path": status, "slot": slot, "status": status,
                 "store": store, "location": location, "t": now})
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT b.status AS blob_status, l.store, l.url, l.meta_data, "
            "l.status FROM blob_locations l JOIN artifact_blobs b ON "
            "b.id = l.blob_id ORDER BY l.url")).mappings().all()
        claims = conn.execute(sa.text(
            "SELECT count(*) FROM artifact_blobs WHERE status = 'saving'")
        ).scalar()
    assert [dict(r) for r in rows] == [
        {"blob_status": "active", "store": "file",
         "url": "file:///data/a/live", "meta_data": '{"k": "v"}',
         "status": "active"},
        {"blob_status": "pending_delete", "store": "cold",
         "url": "file:///data/a/old", "meta_data": '{"k": "v"}',
         "status": "pending_delete"}]
    assert claims == 1
    migrate.downgrade(engine, "0005")
    with engine.connect() as conn:
        back = conn.execute(sa.text(
            "SELECT status, store, location FROM artifact_blobs "
            "ORDER BY status")).all()
    assert [tuple(r) for r in back] == [
        ("active", "file", "file:///data/a/live"),
        ("pending_delete", "cold", "file:///data/a/old"),
        ("saving", None, None)]


@pytest.fixture(params=selected_databases())
def at_0007(request, tmp_path):
    """A database at revision 0007 (data jobs without kinds)."""
    with database_url(request.param, tmp_path) as url:
        eng = session.make_engine(url)
        migrate.upgrade(eng, "0007")
        try:
            yield eng
        finally:
            eng.dispose()


def test_0012_gives_existing_jobs_the_copy_kind(at_0007):
    """A copy queued before the upgrade is still a copy afterwards (and its
    payload empty); downgrading drops both columns and keeps the job."""
    engine, now = at_0007, "2026-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO artifacts (id, type_name, name, owner, visibility, "
            "status, protected, hidden, deleted, version_major, "
            "version_minor, version_patch, version_prerelease, "
            "version_build, version_sort, revision, created_at, updated_at) "
            "VALUES ('a', 'images', 'n', 'p', 'shared', 'active', false, "
            "false, false, 0, 0, 0, '', '', '', 0, :t, :t)"), {"t": now})
        conn.execute(sa.text(
            "INSERT INTO data_jobs (artifact_id, type_name, field, store, "
            "batch, must_succeed, status, attempts, created_at, updated_at) "
            "VALUES ('a', 'images', 'image', 'cold', 'b1', true, 'pending', "
            "0, :t, :t)"), {"t": now})
    migrate.upgrade(engine, "0012")
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT store, kind, payload FROM data_jobs")).one()
    assert tuple(row) == ("cold", "copy", None)
    migrate.downgrade(engine, "0007")
    columns = {c["name"] for c in sa.inspect(engine).get_columns(
        "data_jobs")}
    assert not {"kind", "payload"} & columns
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*) FROM data_jobs")).scalar() == 1
