"""migrate_from_glance.run: a real Glance 33 schema (glance-manage db sync)
migrated into Glare on SQLite, PostgreSQL and MariaDB; what Glare then
renders through the Image API serializer; re-runs, live changes, --since,
--dry-run, deleted ids staying reserved."""

import datetime
import hashlib
import os

import pytest
import sqlalchemy as sa

from artifacts import errors
from artifacts.context import RequestContext
from artifacts.db import api as db
from artifacts.types.images import IMAGES
from glance_compat.serialize import image_view, member_view
from migrate_from_glance import compare, run
from tests.conftest import database_url, selected_databases
from tests.migrate_from_glance.conftest import (GlanceRows, glance_db,
                                                glare_engine)

ADMIN = RequestContext(project_id="admin-project", roles=("admin",))
NOW = datetime.datetime(2025, 1, 1)

pytestmark = pytest.mark.integration


class Settings:
    custom_property_names = ()
    show_multiple_locations = True
    show_image_direct_url = True
    multi_store = False
    stores = ()


@pytest.fixture(scope="module", params=selected_databases())
def env(request, tmp_path_factory):
    kind = request.param
    tmp = tmp_path_factory.mktemp("migrate-%s" % kind)
    datadir = tmp / "glance-images"
    datadir.mkdir()
    with glance_db(kind, tmp) as src, database_url(kind, tmp) as dst:
        rows = GlanceRows(src, datadir=str(datadir))
        engine = glare_engine(
            tmp, dst, glance_datadir=datadir,
            sections="[store:web]\ndriver = http\n"
                     "[store:ceph]\ndriver = foreign\nschemes = rbd\n")
        rows.kind, rows.target, rows.tmp = kind, engine, tmp
        try:
            yield rows
        finally:
            rows.dispose()
            engine.db.dispose()


def migrate(env, **options):
    return run.migrate(env.url, env.target,
                       run.Options(show_progress=False, **options))


def diffs_of(env, ids):
    found = compare.verify(env.url, env.target, run.Options())
    return [d for d in found if any(i in d for i in ids)]


def glare_view(env, image_id):
    return image_view(env.target.get(ADMIN, IMAGES, image_id), Settings,
                      is_admin=True)


def second(value):
    return value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_every_field_renders_as_glance_has_it(env):
    # 12,000 non-ASCII characters (Glance's utf8 tables on MySQL hold no
    # 4-byte characters, so none there).
    long_value = ("ü€𝄞" if env.kind != "mysql" else "ü€ä") * 4000
    data = os.urandom(1000)
    second_copy = os.path.join(env.datadir, "second-copy")
    with open(second_copy, "wb") as f:
        f.write(data)
    image_id = env.image(
        data=data, name="ubuntu 24.04 — ñame", owner="project-a",
        visibility="community", protected=True, os_hidden=True,
        virtual_size=4096, min_disk=3, min_ram=512, disk_format="qcow2",
        properties={"os_distro": "ubuntu", "long": long_value,
                    "os_glance_importing_to_stores": "",
                    "os_glance_stage_host": "http://h", "empty": ""},
        tags=["beta", "alpha", "ünïcode"],
        members=[("p-accepted", "accepted"), ("p-pending", "pending"),
                 ("p-rejected", "rejected")],
        locations=[("file://" + second_copy, {"note": "second"})])
    report = migrate(env)
    assert image_id in report.written_ids
    assert not [p for p in report.problems if p[0] == image_id]
    view = glare_view(env, image_id)
    images = env.t["images"]
    with env.engine.connect() as conn:
        row = conn.execute(sa.select(images).where(
            images.c.id == image_id)).one()
    expected = {
        "os_distro": "ubuntu", "long": long_value,
        "os_glance_importing_to_stores": "", "empty": "",
        "name": "ubuntu 24.04 — ñame", "disk_format": "qcow2",
        "container_format": "bare", "visibility": "community",
        "size": 1000, "virtual_size": 4096, "status": "active",
        "checksum": hashlib.md5(data).hexdigest(), "protected": True,
        "min_ram": 512, "min_disk": 3, "owner": "project-a",
        "os_hidden": True, "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(data).hexdigest(), "id": image_id,
        "created_at": second(row.created_at),
        "updated_at": second(row.updated_at),
        "locations": [
            {"url": "file://%s/%s" % (env.datadir, image_id),
             "metadata": {}},
            {"url": "file://" + second_copy, "metadata": {"note": "second"}}],
        "direct_url": "file://%s/%s" % (env.datadir, image_id),
        "tags": ["alpha", "beta", "ünïcode"],
        "self": "/v2/images/" + image_id,
        "file": "/v2/images/%s/file" % image_id,
        "schema": "/v2/schemas/image"}
    assert view == expected
    assert list(view) == list(expected)        # Glance's key order
    # Timestamps to the microsecond (the database's precision).
    got = env.target.get(ADMIN, IMAGES, image_id)
    assert got["created_at"] == row.created_at
    assert got["updated_at"] == row.updated_at
    with env.target.db.connect() as conn:
        members = {m["member"]: member_view(m)
                   for m in db.members(conn, image_id)}
    assert {k: v["status"] for k, v in members.items()} == {
        "p-accepted": "accepted", "p-pending": "pending",
        "p-rejected": "rejected"}
    assert members["p-pending"]["created_at"] == second(row.created_at)
    # The bytes are read through Glare where Glance keeps them.
    download = env.target.data.open(ADMIN, IMAGES, image_id, "image")
    reader = download.read()
    assert reader.read() == data
    reader.close()
    assert diffs_of(env, [image_id]) == []


def test_http_and_rbd_locations_are_kept_as_stored(env):
    data = b"three copies"
    http = "https://images.example.com/pub/%s.raw" % env.tick().microsecond
    rbd = "rbd://fsid/images/%s/snap" % env.tick().microsecond
    image_id = env.image(data=data, locations=[
        (http, {"mirror": "eu"}), (rbd, {}),
        ("file:///nowhere/old", {}, "pending_delete")])
    report = migrate(env)
    assert image_id in report.written_ids
    blob = env.target.get(ADMIN, IMAGES, image_id)["blobs"][0]
    assert [(loc["url"], loc["store"], loc["metadata"])
            for loc in blob["locations"]] == [
        ("file://%s/%s" % (env.datadir, image_id), "glance", {}),
        (http, "web", {"mirror": "eu"}), (rbd, "ceph", {})]
    # Read through Glare: the file location answers first.
    reader = env.target.data.open(ADMIN, IMAGES, image_id, "image").read()
    assert reader.read() == data
    reader.close()
    assert diffs_of(env, [image_id]) == []


@pytest.mark.parametrize("status", ["queued", "saving", "killed",
                                    "uploading", "importing", "deactivated"])
def test_every_status_moves(env, status):
    data = b"x" * 10 if status == "deactivated" else None
    image_id = env.image(data=data, status=status)
    migrate(env)
    got = env.target.get(ADMIN, IMAGES, image_id)
    assert got["status"] == status
    assert diffs_of(env, [image_id]) == []


@pytest.mark.parametrize("visibility", ["private", "public", "shared",
                                        "community"])
def test_every_visibility_moves(env, visibility):
    image_id = env.image(visibility=visibility, owner=None)
    migrate(env)
    view = glare_view(env, image_id)
    assert view["visibility"] == visibility and view["owner"] is None


def test_deleted_images_are_not_served_and_keep_their_ids(env):
    gone = env.image(status="deleted", deleted=True, deleted_at=NOW,
                     properties={"a": "b"})
    pending = env.image(status="pending_delete", deleted=True,
                        deleted_at=NOW)
    migrate(env)
    for image_id in (gone, pending):
        with pytest.raises(errors.NotFound):
            env.target.get(ADMIN, IMAGES, image_id)
        with pytest.raises(errors.Conflict, match="already exists"):
            env.target.create(ADMIN, IMAGES, {"name": "again"},
                              artifact_id=image_id)
    assert diffs_of(env, [gone, pending]) == []


def test_rerun_with_nothing_changed_writes_nothing(env):
    image_id = env.image(data=b"abc", tags=["t"], members=["m"])
    first = migrate(env)
    assert image_id in first.written_ids
    again = migrate(env)
    assert again.written == 0 and again.ok
    assert again.unchanged == again.seen


def test_live_changes_bring_exactly_those(env):
    edited = env.image(properties={"color": "red"})
    shared = env.image(visibility="shared")
    doomed = env.image(data=b"bye")
    untouched = env.image(properties={"k": "v"})
    migrate(env)
    later = env.tick()
    # As Glance's API does them: a property edit bumps the property and
    # the image; a new member touches only image_members; a delete marks
    # the image (and its locations) deleted.
    env.execute("UPDATE image_properties SET value = 'blue', updated_at = :t"
                " WHERE image_id = :i AND name = 'color'", t=later, i=edited)
    env.execute("UPDATE images SET updated_at = :t WHERE id = :i", t=later,
                i=edited)
    env.execute("INSERT INTO image_members (image_id, member, can_share, "
                "status, created_at, updated_at, deleted) VALUES (:i, "
                "'newcomer', :f, 'pending', :t, :t, :f)", i=shared, t=later,
                f=False)
    env.execute("UPDATE images SET deleted = :d, deleted_at = :t, status = "
                "'deleted', updated_at = :t WHERE id = :i", d=True, t=later,
                i=doomed)
    env.execute("UPDATE image_locations SET deleted = :d, deleted_at = :t, "
                "status = 'deleted' WHERE image_id = :i", d=True, t=later,
                i=doomed)
    new = env.image(name="new")
    report = migrate(env)
    assert sorted(report.written_ids) == sorted([edited, shared, doomed, new])
    assert untouched not in report.written_ids
    assert env.target.get(ADMIN, IMAGES, edited)["properties"]["color"] \
        == "blue"
    with env.target.db.connect() as conn:
        assert [m["member"] for m in db.members(conn, shared)] == \
            ["newcomer"]
    with pytest.raises(errors.NotFound):
        env.target.get(ADMIN, IMAGES, doomed)
    assert diffs_of(env, [edited, shared, doomed, new, untouched]) == []


def test_since_brings_only_what_changed_since(env):
    old = env.image(name="old")
    migrate(env)
    cut = env.tick()
    env.execute("UPDATE images SET name = 'renamed' WHERE id = :i", i=old)
    fresh = env.image(name="fresh")
    report = migrate(env, since=cut)
    assert report.written_ids == [fresh]
    # A change Glance made without a new updated_at is outside --since.
    assert env.target.get(ADMIN, IMAGES, old)["name"] == "old"


def test_dry_run_checks_everything_and_writes_nothing(env):
    image_id = env.image(name="dry")
    report = migrate(env, dry_run=True)
    assert image_id in report.written_ids and report.dry_run
    assert "would write" in report.render()
    with pytest.raises(errors.NotFound):
        env.target.get(ADMIN, IMAGES, image_id)


def test_source_is_opened_read_only(env):
    from migrate_from_glance.source import open_source
    engine = open_source(env.url)
    try:
        with pytest.raises(sa.exc.DBAPIError):
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE images SET name = 'x'"))
    finally:
        engine.dispose()
