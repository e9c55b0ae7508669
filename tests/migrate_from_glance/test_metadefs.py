"""migrate_from_glance.metadefs: Glance's metadef rows (written with SQL
into a real Glance 33 schema) moved into Glare by ``run.migrate``, kept
idempotent on re-runs, and compared by
``verify``; on every database of the suite.  (The API's view of migrated
namespaces, against real Glance's, is test_migrate_glance_e2e's.)"""

import datetime
import json

import pytest
import sqlalchemy as sa

from metadefs import tables as T
from migrate_from_glance import compare, run
from tests.conftest import selected_databases
from tests.migrate_from_glance.conftest import migration_env

pytestmark = pytest.mark.integration

T0 = datetime.datetime(2024, 5, 1, 8, 30, 0)
T1 = datetime.datetime(2024, 7, 2, 10, 0, 0)


@pytest.fixture(params=selected_databases())
def env(request, tmp_path):
    with migration_env(request.param, tmp_path, _catalog) as env:
        yield env


def _catalog(conn):
    """One namespace of each kind of row, as Glance's db API writes them."""
    ins = "INSERT INTO %s (%s) VALUES (%s)"

    def insert(table, **row):
        conn.execute(sa.text(ins % (table, ", ".join(row), ", ".join(
            ":" + k for k in row))), row)
    insert("metadef_namespaces", id=7, namespace="OS::Compute::Test",
           display_name="Tëst", description="d ✓", visibility="public",
           protected=True, owner="admin-project", created_at=T0,
           updated_at=None)
    insert("metadef_namespaces", id=9, namespace="Private::NS",
           display_name=None, description=None, visibility="private",
           protected=False, owner="project-a", created_at=T0,
           updated_at=T0)
    insert("metadef_objects", id=1, namespace_id=7, name="CPU",
           description=None, required="cores,threads",
           json_schema=json.dumps({"cores": {"type": "integer"}}),
           created_at=T0, updated_at=None)
    insert("metadef_properties", id=1, namespace_id=7, name="hw_rng",
           json_schema=json.dumps({"type": "boolean", "title": "RNG"}),
           created_at=T0, updated_at=None)
    insert("metadef_tags", id=1, namespace_id=7, name="ünicode",
           created_at=T0, updated_at=None)
    insert("metadef_resource_types", id=3, name="OS::Glance::Image",
           protected=True, created_at=T0, updated_at=None)
    insert("metadef_namespace_resource_types", resource_type_id=3,
           namespace_id=7, properties_target=None, prefix="hw_",
           created_at=T0, updated_at=None)


def test_catalog_moves_and_reruns_are_idempotent(env):
    source, url, engine = env
    options = run.Options(show_progress=False)
    report = run.migrate(url, engine, options)
    assert report.metadefs == {"namespaces": 2, "objects": 1,
                               "properties": 1, "tags": 1,
                               "resource_type_associations": 1}
    assert "Metadata definitions written: namespaces 2" in report.render()
    assert compare.verify(url, engine, options) == []
    with source.begin() as conn:
        conn.execute(sa.text("INSERT INTO metadef_tags (id, namespace_id, "
                             "name, created_at) VALUES (2, 9, 'later', "
                             ":t)"), {"t": T0})
    assert compare.verify(url, engine, options) == [
        "metadef namespace Private::NS: tags differ (Glare [], Glance "
        "[{'name': 'later', 'created_at': %r, 'updated_at': None}])." % T0]
    run.migrate(url, engine, options)
    assert compare.verify(url, engine, options) == []
    with engine.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            T.namespaces)).scalar() == 2
        assert conn.execute(sa.select(sa.func.count()).select_from(
            T.resource_types)).scalar() == 1


def test_rows_keep_glance_s_values(env):
    source, url, engine = env
    run.migrate(url, engine, run.Options(show_progress=False))
    with engine.db.connect() as conn:
        row = conn.execute(sa.select(T.namespaces).where(
            T.namespaces.c.namespace == "OS::Compute::Test")).one()
        assert (row.display_name, row.protected, row.owner,
                row.created_at, row.updated_at) == (
            "Tëst", True, "admin-project", T0, None)
        obj = conn.execute(sa.select(T.objects)).one()
        assert obj.required == "cores,threads"
        assoc = conn.execute(sa.select(T.associations)).one()
        assert (assoc.prefix, assoc.position) == ("hw_", 1)


def _counts(engine):
    with engine.db.connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(
            getattr(T, name))).scalar() for name in (
            "namespaces", "objects", "properties", "tags", "associations",
            "resource_types")}


def test_dry_run_counts_and_writes_nothing(env):
    source, url, engine = env
    dry = run.Options(show_progress=False, dry_run=True)
    report = run.migrate(url, engine, dry)
    assert report.metadefs == {"namespaces": 2, "objects": 1,
                               "properties": 1, "tags": 1,
                               "resource_type_associations": 1}
    assert "Metadata definitions would write" in report.render()
    assert set(_counts(engine).values()) == {0}
    assert compare.verify(url, engine, dry) == [
        "metadef namespace OS::Compute::Test: missing in Glare.",
        "metadef namespace Private::NS: missing in Glare."]
    # After a real run, a dry run leaves Glance's later edit unwritten.
    run.migrate(url, engine, run.Options(show_progress=False))
    with source.begin() as conn:
        conn.execute(sa.text("UPDATE metadef_namespaces SET description = "
                             "'edited' WHERE id = 9"))
    run.migrate(url, engine, dry)
    assert compare.verify(url, engine, dry) == [
        "metadef namespace Private::NS: description differ (Glare None, "
        "Glance 'edited')."]


def test_a_rerun_updates_changed_rows_and_duplicates_none(env):
    source, url, engine = env
    options = run.Options(show_progress=False)
    run.migrate(url, engine, options)
    before = _counts(engine)
    assert before == {"namespaces": 2, "objects": 1, "properties": 1,
                      "tags": 1, "associations": 1, "resource_types": 1}
    schema = {"type": "string", "title": "RNG", "enum": ["a", "b"]}
    with source.begin() as conn:
        conn.execute(sa.text("UPDATE metadef_namespaces SET display_name = "
                             "'Renamed', protected = :f WHERE id = 7"),
                     {"f": False})
        conn.execute(sa.text("UPDATE metadef_properties SET json_schema = "
                             ":s, updated_at = :t WHERE id = 1"),
                     {"s": json.dumps(schema), "t": T1})
        conn.execute(sa.text("UPDATE metadef_namespace_resource_types SET "
                             "prefix = 'hw_x_' WHERE namespace_id = 7"))
        conn.execute(sa.text("DELETE FROM metadef_objects WHERE id = 1"))
    diffs = compare.verify(url, engine, options)
    assert [d.split(" differ ")[0] for d in diffs] == [
        "metadef namespace OS::Compute::Test: display_name",
        "metadef namespace OS::Compute::Test: objects",
        "metadef namespace OS::Compute::Test: properties",
        "metadef namespace OS::Compute::Test: protected",
        "metadef namespace OS::Compute::Test: resource_types"], diffs
    report = run.migrate(url, engine, options)
    assert report.metadefs["objects"] == 0
    assert compare.verify(url, engine, options) == []
    assert _counts(engine) == dict(before, objects=0)
    with engine.db.connect() as conn:
        ns = conn.execute(sa.select(T.namespaces).where(
            T.namespaces.c.namespace == "OS::Compute::Test")).one()
        assert (ns.display_name, ns.protected) == ("Renamed", False)
        prop = conn.execute(sa.select(T.properties)).one()
        assert (json.loads(prop.json_schema), prop.updated_at) == (schema,
                                                                   T1)
        assert conn.execute(sa.select(T.associations.c.prefix)).scalar() \
            == "hw_x_"
    # And once more with nothing changed: the same rows.
    run.migrate(url, engine, options)
    assert _counts(engine) == dict(before, objects=0)
    assert compare.verify(url, engine, options) == []
