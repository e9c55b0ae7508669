"""The `glare migrate-from-glance` command: report, exit codes, plain log
lines off a terminal and a rich bar on one, --store-map and
--glance-config, --copy-data's checks."""

import hashlib
import io
import logging
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from artifacts.context import RequestContext
from artifacts.db import models
from artifacts.types.images import IMAGES
from metadefs import tables as metadef_tables
from migrate_from_glance import glance_config, progress, run
from migrate_from_glance.records import Fatal
from tests.conftest import ROOT
from tests.migrate_from_glance.conftest import (GlanceRows, glance_db,
                                                glare_engine)

ADMIN = RequestContext(project_id="p", roles=("admin",))


@pytest.fixture
def env(tmp_path):
    datadir = tmp_path / "glance-images"
    datadir.mkdir()
    with glance_db("sqlite", tmp_path) as url:
        rows = GlanceRows(url, datadir=str(datadir))
        rows.target = glare_engine(
            tmp_path, "sqlite:///%s/glare.sqlite" % tmp_path,
            glance_datadir=datadir)
        yield rows
        rows.dispose()


def cli(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "glare.cli", "--config",
         env.target.config_path, "migrate-from-glance", *args,
         "--source-db", env.url], cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)


def test_report_and_exit_codes(env):
    good = env.image(data=b"data", properties={"a": "1", "b": "2"},
                     tags=["x"], members=[("m", "accepted")])
    bad = env.image(properties={"checksum": "not mine"})
    env.image(status="deleted", deleted=True)
    out = cli(env)
    assert out.returncode == 1, out.stderr
    assert "3 images read, 2 written, 0 unchanged, 1 skipped" in out.stdout
    assert "active 1, deleted (deleted, id reserved) 1" in out.stdout
    assert ("Rows written: properties 2, tags 1, members 1, locations 1"
            in out.stdout)
    assert "SKIPPED image %s: property 'checksum'" % bad in out.stdout
    # Off a terminal: log lines, no control codes.
    assert "\x1b[" not in out.stderr and "images (" in out.stderr
    env.execute("DELETE FROM image_properties WHERE image_id = :i", i=bad)
    env.execute("UPDATE images SET updated_at = :t WHERE id = :i",
                t=env.tick(), i=bad)
    again = cli(env)
    assert again.returncode == 0, again.stdout
    assert "1 written, 2 unchanged, 0 skipped" in again.stdout
    check = cli(env, "verify", "--data")
    assert check.returncode == 0 and "0 differences." in check.stdout


def test_verify_names_each_difference(env):
    image_id = env.image(properties={"k": "v"})
    assert cli(env).returncode == 0
    env.execute("UPDATE image_properties SET value = 'changed' WHERE "
                "image_id = :i", i=image_id)
    out = cli(env, "verify")
    assert out.returncode == 1
    assert ("image %s: property k is 'v' in Glare, 'changed' in Glance."
            % image_id) in out.stdout
    assert "1 differences." in out.stdout


def test_dry_run_writes_nothing_anywhere(env):
    """--dry-run: the report says what would be written; no image, metadef
    or task row reaches Glare, and verify still finds them missing."""
    image_id = env.image(data=b"data", properties={"k": "v"}, tags=["t"])
    env.execute("INSERT INTO metadef_namespaces (namespace, visibility, "
                "protected, owner, created_at) VALUES ('NS::Dry', 'public', "
                ":f, 'p', :t)", f=False, t=env.clock)
    env.execute("INSERT INTO tasks (id, type, status, owner, created_at, "
                "updated_at, deleted) VALUES ('22222222-0000-4000-8000-"
                "000000000000', 'import', 'success', 'p', :t, :t, :f)",
                t=env.clock, f=False)
    out = cli(env, "--dry-run")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 images read, 1 would write" in out.stdout, out.stdout
    assert "Metadata definitions would write: namespaces 1" in out.stdout
    assert "Tasks would write: 1 (0 still running in Glance)." in out.stdout
    with env.target.db.connect() as conn:
        for table in (models.artifacts, models.artifact_properties,
                      models.artifact_blobs, metadef_tables.namespaces,
                      models.tasks):
            assert conn.execute(sa.select(sa.func.count()).select_from(
                table)).scalar() == 0, table.name
    out = cli(env, "verify")
    assert out.returncode == 1
    assert "image %s: missing in Glare." % image_id in out.stdout
    assert "metadef namespace NS::Dry: missing in Glare." in out.stdout
    assert ("task 22222222-0000-4000-8000-000000000000: missing in Glare."
            in out.stdout)


def test_start_errors_exit_2(env, tmp_path):
    bad_map = cli(env, "--store-map", "nonsense")
    assert bad_map.returncode == 2
    assert "not GLANCE_STORE=GLARE_STORE" in bad_map.stderr
    since = cli(env, "--since", "yesterday")
    assert since.returncode == 2 and "ISO 8601" in since.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "glare.cli", "--config",
         env.target.config_path, "migrate-from-glance", "--source-db",
         "sqlite:///%s/none.sqlite" % tmp_path], cwd=ROOT,
        capture_output=True, text=True, env=dict(os.environ,
                                                 PYTHONPATH=ROOT))
    assert missing.returncode == 2
    assert "glare migrate-from-glance: Cannot read" in missing.stderr


def test_store_map_sends_a_glance_store_to_a_glare_store(env):
    path = os.path.join(env.datadir, "fast-copy")
    with open(path, "wb") as f:
        f.write(b"bytes")
    image_id = env.image(status="active", size=5, locations=[
        ("file://" + path, {"store": "fast"})])
    report = run.migrate(env.url, env.target, run.Options(
        show_progress=False, store_map=glance_config.parse_store_map(
            "fast=glance")))
    assert report.ok, report.render()
    blob = env.target.get(ADMIN, IMAGES, image_id)["blobs"][0]
    assert [(loc["store"], loc["metadata"]) for loc in blob["locations"]] \
        == [("glance", {"store": "fast"})]
    with pytest.raises(Fatal, match="not configured"):
        _build_with_map(env, image_id, {"fast": "nowhere"})


def _build_with_map(env, image_id, store_map):
    from migrate_from_glance import records, source
    src = source.open_source(env.url)
    with src.connect() as conn:
        rows = [r for batch in source.image_batches(src.connect, 100)
                for r in batch if r.id == image_id]
        kids = source.children(conn, source.Batch(rows), [image_id])
    src.dispose()
    ctx = records.Context(stores=env.target.stores, limits=env.target.limits,
                          store_map=store_map)
    records.build(rows[0], kids[image_id], ctx)


def test_glance_config_maps_stores_and_reads_the_key(env, tmp_path):
    conf = tmp_path / "glance-api.conf"
    conf.write_text(
        "[DEFAULT]\nenabled_backends = fast:file, web:http\n"
        "metadata_encryption_key = 0123456789abcdef\n"
        "[fast]\nfilesystem_store_datadir = %s\n" % env.datadir)
    mapped, key = glance_config.read(str(conf), env.target.stores, {})
    assert key == "0123456789abcdef"
    assert mapped == {"fast": "glance"}     # no http store in Glare: none
    conf.write_text("[DEFAULT]\nenabled_backends = slow:file\n"
                    "[slow]\nfilesystem_store_datadir = /elsewhere\n")
    with pytest.raises(Fatal, match="Glance store slow"):
        glance_config.read(str(conf), env.target.stores, {})
    # --store-map wins over what the file says.
    assert glance_config.read(str(conf), env.target.stores,
                              {"slow": "glance"})[0] == {"slow": "glance"}


def test_copy_data_checks_the_bytes(env):
    data = os.urandom(5000)
    good = env.image(data=data)
    bad = env.image(data=b"original")
    with open(os.path.join(env.datadir, bad), "wb") as f:
        f.write(b"tampered")         # same size, other bytes
    report = run.migrate(env.url, env.target, run.Options(
        show_progress=False, copy_data=True))
    assert report.copied == 1 and report.bytes_copied == len(data)
    assert dict(report.problems)[bad].startswith("data not copied: ")
    blob = env.target.get(ADMIN, IMAGES, good)["blobs"][0]
    assert [loc["store"] for loc in blob["locations"]] == \
        [env.target.stores.default]
    reader = env.target.data.open(ADMIN, IMAGES, good, "image").read()
    assert hashlib.sha512(reader.read()).hexdigest() == \
        hashlib.sha512(data).hexdigest()
    reader.close()
    # The tampered one keeps its Glance location.
    blob = env.target.get(ADMIN, IMAGES, bad)["blobs"][0]
    assert [loc["store"] for loc in blob["locations"]] == ["glance"]
    # Glance's files stay where they were.
    assert open(os.path.join(env.datadir, good), "rb").read() == data


def test_progress_off_a_terminal_logs_lines(caplog):
    caplog.set_level(logging.INFO, logger="migrate_from_glance")
    sink = progress.start(10, "images", show=None, out=io.StringIO())
    sink.advance(10)
    sink.close()
    assert "10/10 images" in caplog.text


def test_progress_on_a_terminal_draws_a_bar():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    out = Tty()
    sink = progress.start(4, "images", out=out)
    sink.advance(4)
    sink.close()
    text = out.getvalue()
    assert "4/4" in text and "ETA" in text and "/s" in text


def test_copy_kept_across_reruns_and_dropped_when_glance_deletes(env):
    import migrate_from_glance
    target = migrate_from_glance.target_engine(env.target.config_path)
    data = os.urandom(2000)
    kept = env.image(data=data, properties={"v": "1"})
    doomed = env.image(data=b"doomed data")
    options = migrate_from_glance.Options(show_progress=False,
                                          copy_data=True)
    assert migrate_from_glance.migrate(env.url, target, options).copied == 2
    copies = {i: target.get(ADMIN, IMAGES, i)["blobs"][0]["locations"][0]
              for i in (kept, doomed)}
    later = env.tick()
    env.execute("UPDATE image_properties SET value = '2', updated_at = :t "
                "WHERE image_id = :i", t=later, i=kept)
    env.execute("UPDATE images SET updated_at = :t WHERE id = :i", t=later,
                i=kept)
    env.execute("UPDATE images SET deleted = :d, status = 'deleted', "
                "deleted_at = :t, updated_at = :t WHERE id = :i", d=True,
                t=later, i=doomed)
    report = migrate_from_glance.migrate(env.url, target, options)
    assert sorted(report.written_ids) == sorted([kept, doomed])
    assert report.copied == 0 and report.ok
    # The edited image still reads from its copy; the deleted one's copy
    # is gone from Glare's store, Glance's file is not.
    blob = target.get(ADMIN, IMAGES, kept)["blobs"][0]
    assert [loc["url"] for loc in blob["locations"]] == [copies[kept]["url"]]
    store = target.stores.driver(copies[doomed]["store"])
    assert not store.exists(copies[doomed]["url"])
    assert os.path.exists(os.path.join(env.datadir, doomed))
    assert migrate_from_glance.verify(env.url, target, options,
                                      data=True) == []


def test_mapped_store_must_serve_the_location(env, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "f").write_bytes(b"x")
    image_id = env.image(status="active", size=1, locations=[
        ("file://%s/f" % elsewhere, {"store": "fast"})])
    report = run.migrate(env.url, env.target, run.Options(
        show_progress=False, store_map={"fast": "glance"}))
    assert "does not serve location" in dict(report.problems)[image_id]


def test_uploading_images_are_noted(env):
    env.image(status="uploading")
    report = run.migrate(env.url, env.target, run.Options(
        show_progress=False))
    assert report.ok
    assert any("staged" in note for note in report.notes)
    assert "Note: 1 images are uploading" in report.render()


def test_multi_store_glance_renders_its_stores(tmp_path):
    """Glance with enabled_backends (two file stores and an http store):
    each location keeps its store in the metadata, Glare's stores of the
    same ids serve them, and the image shows Glance's ``stores``."""
    from glance_compat.serialize import image_view
    fast, cheap = tmp_path / "fast", tmp_path / "cheap"
    fast.mkdir()
    cheap.mkdir()
    conf = tmp_path / "glare.conf"
    conf.write_text(
        "[DEFAULT]\nenabled_backends = fast:file, cheap:file, web:http\n"
        "[database]\nconnection = sqlite:///%s/glare.sqlite\n"
        "[glance_store]\ndefault_backend = fast\n"
        "[fast]\nfilesystem_store_datadir = %s\nweight = 10\n"
        "[cheap]\nfilesystem_store_datadir = %s\n"
        "[oslo_policy]\npolicy_file = /nonexistent/policy.yaml\n"
        % (tmp_path, fast, cheap))
    import migrate_from_glance
    from artifacts.db import migrate as db_migrate
    engine = migrate_from_glance.target_engine(str(conf))
    db_migrate.upgrade(engine.db)
    with glance_db("sqlite", tmp_path) as url:
        rows = GlanceRows(url)
        image_id = "0b7c4c1e-3f2d-4c6b-9a8e-1d2c3b4a5f60"
        for d in (fast, cheap):
            (d / image_id).write_bytes(b"two copies")
        rows.image(image_id=image_id, status="active", size=10, locations=[
            ("file://%s/%s" % (cheap, image_id), {"store": "cheap"}),
            ("http://mirror.example.com/x.img", {"store": "web"}),
            ("file://%s/%s" % (fast, image_id), {"store": "fast"})])
        mapped, _ = glance_config.read(str(conf), engine.stores, {})
        assert mapped == {"fast": "fast", "cheap": "cheap", "web": "web"}
        report = run.migrate(url, engine, run.Options(
            show_progress=False, store_map=mapped))
        assert report.ok, report.render()
        rows.dispose()

    class Settings:
        custom_property_names = ()
        show_multiple_locations = True
        show_image_direct_url = True
        multi_store = True
        stores = [type("S", (), {"id": i, "weight": w})
                  for i, w in (("fast", 10), ("cheap", 0), ("web", 0))]
    view = image_view(engine.get(ADMIN, IMAGES, image_id), Settings, True)
    # Heaviest store first, then Glance's order (as Glance sorts them).
    assert [loc["metadata"]["store"] for loc in view["locations"]] == [
        "fast", "cheap", "web"]
    assert view["stores"] == "fast,cheap,web"
    reader = engine.data.open(ADMIN, IMAGES, image_id, "image").read()
    assert reader.read() == b"two copies"
    reader.close()


def test_verify_after_glance_purges_rows(env):
    kept = env.image(name="kept")
    purged = env.image(status="deleted", deleted=True)
    vanished = env.image(name="vanished")
    assert run.migrate(env.url, env.target, run.Options(
        show_progress=False)).ok
    from migrate_from_glance.compare import verify
    for image_id in (purged, vanished):   # glance-manage db purge, or SQL
        for table in ("image_properties", "image_tags", "image_members",
                      "image_locations"):
            env.execute("DELETE FROM %s WHERE image_id = :i" % table,
                        i=image_id)
        env.execute("DELETE FROM images WHERE id = :i", i=image_id)
    diffs = verify(env.url, env.target, run.Options())
    # The purged deleted image's reserved row is no difference; the kept
    # image is identical; the live image that vanished is named.
    assert diffs == ["image %s: in Glare but no longer in Glance." % vanished]
    assert kept not in " ".join(diffs)
