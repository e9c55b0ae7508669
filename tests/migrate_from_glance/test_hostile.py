"""Source rows that break Glare's rules: each is refused with a message
naming the image and the reason, the image is written not at all (no row,
no property, tag or member), and every other image still moves.  Also:
unknown schema versions, unreachable databases, encrypted locations."""

import os
import sqlite3
import subprocess

import pytest
import sqlalchemy as sa

from artifacts.db.models import (artifact_members, artifact_properties,
                                 artifact_tags, artifacts, glance_migration)
from migrate_from_glance import crypt, run
from tests.conftest import database_url, selected_databases
from tests.migrate_from_glance.conftest import (GlanceRows, glance_db,
                                                glance_venv, glare_engine)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=selected_databases())
def env(request, tmp_path_factory):
    kind = request.param
    tmp = tmp_path_factory.mktemp("hostile-%s" % kind)
    datadir = tmp / "glance-images"
    datadir.mkdir()
    with glance_db(kind, tmp) as src, database_url(kind, tmp) as dst:
        rows = GlanceRows(src, datadir=str(datadir))
        rows.kind = kind
        rows.target = glare_engine(tmp, dst, glance_datadir=datadir)
        try:
            yield rows
        finally:
            rows.dispose()
            rows.target.db.dispose()


def migrate(env, **options):
    return run.migrate(env.url, env.target,
                       run.Options(show_progress=False, **options))


def assert_refused(env, image_id, *words):
    """Migrate; ``image_id`` is skipped with a reason holding ``words`` and
    nothing of it is in Glare; a healthy image of the same run moves."""
    healthy = env.image(properties={"fine": "yes"}, tags=["ok"])
    report = migrate(env)
    reasons = [r for i, r in report.problems if i == image_id]
    assert len(reasons) == 1, report.render()
    for word in words:
        assert word in reasons[0], reasons[0]
    assert "SKIPPED image %s" % image_id in report.render()
    assert not report.ok and healthy in report.written_ids
    with env.target.db.connect() as conn:
        for table, column in ((artifacts, artifacts.c.id),
                              (artifact_properties,
                               artifact_properties.c.artifact_id),
                              (artifact_tags, artifact_tags.c.artifact_id),
                              (artifact_members,
                               artifact_members.c.artifact_id),
                              (glance_migration,
                               glance_migration.c.image_id)):
            assert conn.execute(sa.select(sa.func.count()).select_from(
                table).where(column == image_id)).scalar() == 0, table.name
    return reasons[0]


def test_over_long_property_value(env):
    if env.kind == "mysql":
        pytest.skip("Glance's TEXT column on MySQL holds 65535 bytes, "
                    "which is Glare's limit too")
    image_id = env.image(properties={"big": "x" * 70000}, tags=["t"],
                         members=["m"])
    assert_refused(env, image_id, "big", "70000 bytes", "65535")


def test_null_updated_at(env):
    image_id = env.image(members=["m"])
    env.execute("UPDATE images SET updated_at = NULL WHERE id = :i",
                i=image_id)
    assert_refused(env, image_id, "updated_at is NULL")


def test_duplicate_locations(env):
    image_id = env.image(data=b"twice", tags=["t"])
    url = "file://%s/%s" % (env.datadir, image_id)
    with env.engine.begin() as conn:
        conn.execute(env.t["image_locations"].insert(), dict(
            image_id=image_id, value=url, meta_data="{}", status="active",
            created_at=env.tick(), updated_at=env.tick(), deleted=False))
    assert_refused(env, image_id, "listed twice")


def test_missing_location_file(env):
    image_id = env.image(data=b"soon gone")
    os.remove(os.path.join(env.datadir, image_id))
    assert_refused(env, image_id, "missing", image_id)


def test_reserved_property_name(env):
    image_id = env.image(properties={"size": "12"})
    assert_refused(env, image_id, "'size'", "attribute")


def test_location_no_glare_store_reads(env):
    image_id = env.image(status="active", size=1, locations=[
        ("rbd://fsid/images/%s/snap" % "x", {})])
    assert_refused(env, image_id, "no configured Glare store", "rbd://")


def test_uppercase_id(env):
    image_id = env.image(image_id="AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE")
    assert_refused(env, image_id, "canonical lowercase")


def test_over_long_name(env):
    if env.kind != "sqlite":
        pytest.skip("only SQLite stores more than the column's 255")
    image_id = env.image(name="n" * 300)
    assert_refused(env, image_id, "name is 300 characters")


def test_non_utf8_name(env):
    if env.kind != "sqlite":
        pytest.skip("PostgreSQL and MariaDB refuse invalid UTF-8 themselves")
    image_id = env.image(name="fine", properties={"p": "v"})
    with sqlite3.connect(env.url[len("sqlite:///"):]) as conn:
        conn.execute("UPDATE images SET name = CAST(X'ff41fe' AS TEXT) "
                     "WHERE id = ?", (image_id,))
    reason = assert_refused(env, image_id, "not valid UTF-8")
    assert "\\xff" in reason


def test_problem_after_migration_leaves_the_earlier_copy(env):
    image_id = env.image(properties={"v": "1"})
    assert image_id in migrate(env).written_ids
    env.execute("UPDATE images SET updated_at = NULL WHERE id = :i",
                i=image_id)
    report = migrate(env)
    assert [r for i, r in report.problems if i == image_id]
    with env.target.db.connect() as conn:
        assert conn.execute(sa.select(artifacts.c.name).where(
            artifacts.c.id == image_id)).scalar() is not None


def test_image_made_in_glare_is_not_overwritten(env):
    from artifacts.context import RequestContext
    from artifacts.types.images import IMAGES
    ctx = RequestContext(project_id="p", roles=("admin",))
    made = env.target.create(ctx, IMAGES, {"name": "glare's own"})
    env.image(image_id=made["id"], name="glance's")
    report = migrate(env)
    assert [r for i, r in report.problems if i == made["id"]]
    assert env.target.get(ctx, IMAGES, made["id"])["name"] == "glare's own"


# ----------------------------------------------------------- whole run


def glance_encrypt(key, url):
    """Glance's own glance.common.crypt when its venv is there."""
    venv = glance_venv()
    if venv is None:
        return crypt.encrypt(key, url)
    return subprocess.run(
        [os.path.join(venv, "bin", "python"), "-c",
         "import sys; from glance.common import crypt; "
         "print(crypt.urlsafe_encrypt(sys.argv[1], sys.argv[2]))", key, url],
        check=True, capture_output=True, text=True).stdout.strip()


def test_encrypted_locations_stop_the_run_without_the_key(tmp_path):
    key = "0123456789abcdef0123456789abcdef"
    with glance_db("sqlite", tmp_path) as src:
        env = GlanceRows(src, datadir=str(tmp_path))
        data_path = tmp_path / "img"
        data_path.write_bytes(b"secret data")
        image_id = env.image(status="active", size=11, locations=[
            (glance_encrypt(key, "file://%s" % data_path), {})])
        target = glare_engine(tmp_path, "sqlite:///%s/g.sqlite" % tmp_path,
                              glance_datadir=tmp_path)
        with pytest.raises(run.MigrationError, match="metadata_encryption"):
            run.migrate(src, target, run.Options(show_progress=False))
        with target.db.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(
                artifacts)).scalar() == 0
        wrong = run.migrate(src, target, run.Options(
            show_progress=False, encryption_key="f" * 32))
        assert "cannot be decrypted" in dict(wrong.problems)[image_id]
        report = run.migrate(src, target, run.Options(
            show_progress=False, encryption_key=key))
        assert report.ok and report.written_ids == [image_id]
        from artifacts.context import RequestContext
        from artifacts.types.images import IMAGES
        got = target.get(RequestContext(roles=("admin",)), IMAGES, image_id)
        assert got["blobs"][0]["locations"][0]["url"] == \
            "file://%s" % data_path
        env.dispose()


def test_unknown_schema_version_is_refused_by_name(tmp_path):
    with glance_db("sqlite", tmp_path) as src:
        env = GlanceRows(src)
        env.execute("UPDATE alembic_version SET version_num = "
                    "'2099_1_contract01'")
        target = glare_engine(tmp_path, "sqlite:///%s/g.sqlite" % tmp_path)
        with pytest.raises(run.MigrationError) as exc:
            run.migrate(src, target, run.Options(show_progress=False))
        assert "2099_1_contract01" in str(exc.value)
        assert "does not know" in str(exc.value)
        env.dispose()


def test_not_a_glance_database(tmp_path):
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    target = glare_engine(tmp_path, "sqlite:///%s/g.sqlite" % tmp_path)
    with pytest.raises(run.MigrationError, match="no alembic_version"):
        run.migrate("sqlite:///%s" % path, target,
                    run.Options(show_progress=False))


def test_unreachable_database(tmp_path):
    target = glare_engine(tmp_path, "sqlite:///%s/g.sqlite" % tmp_path)
    with pytest.raises(run.MigrationError) as exc:
        run.migrate("postgresql+psycopg2://glance:secret@127.0.0.1:1/glance",
                    target, run.Options(show_progress=False))
    assert "Cannot read Glance's database" in str(exc.value)
    assert "secret" not in str(exc.value)


def test_target_not_upgraded(tmp_path):
    with glance_db("sqlite", tmp_path) as src:
        target = glare_engine(tmp_path, "sqlite:///%s/g.sqlite" % tmp_path)
        from artifacts.db import migrate as db_migrate
        db_migrate.downgrade(target.db, "0007")
        with pytest.raises(run.MigrationError, match="glare db upgrade"):
            run.migrate(src, target, run.Options(show_progress=False))
