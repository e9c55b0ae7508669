"""The data path (artifacts/data.py) with several real filesystem stores:
claims that never leak, reads that fall through to the next location,
copies and removals of one location, imports that read staged data once."""

import hashlib
import os
import pathlib
import uuid

import pytest
import sqlalchemy as sa

from artifacts import errors, stores
from artifacts.context import RequestContext
from artifacts.db.models import store_writes
from artifacts.engine import Engine, Limits
from artifacts.stores.placement import StoreSet
from artifacts.types.images import IMAGES

DATA = os.urandom(3 * 1024 * 1024 + 5)


class CountingStore:
    """A real driver that counts how often its data is opened."""

    def __init__(self, driver):
        self.driver = driver
        self.opened = 0

    def open(self, *args, **kwargs):
        self.opened += 1
        return self.driver.open(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.driver, name)


@pytest.fixture
def eng(db_engine, enforcer, tmp_path):
    from tests.artifacts.stores import faulty  # noqa: F401 (registers)

    def fs(name):
        return stores.create("filesystem", name,
                             {"datadir": str(tmp_path / name)})
    drivers = {"fast": fs("fast"), "cold": fs("cold"),
               "broken": stores.create("faulty", "broken", {
                   "driver": fs("broken"), "fail_write_after": 1024}),
               "full": stores.create("faulty", "full", {
                   "driver": fs("full"), "fail_write_after": 1024 * 1024,
                   "write_error": "enospc"})}
    staging = CountingStore(fs("staging"))
    store_set = StoreSet(drivers=drivers, default="fast",
                         weights={"fast": 100, "cold": 50}, staging=staging)
    return Engine(db_engine, drivers["fast"], enforcer, Limits(),
                  stores=store_set)


def admin():
    return RequestContext(project_id="p-" + uuid.uuid4().hex[:8],
                          user_id="admin", roles=("admin", "member",
                                                  "reader"))


def image(eng, ctx):
    return eng.create(ctx, IMAGES, {"name": "i", "properties": {
        "disk_format": "raw", "container_format": "bare"}})


def locations(eng, ctx, image_id):
    [blob] = [b for b in eng.get(ctx, IMAGES, image_id)["blobs"]
              if b["field"] == "image"]
    return blob["locations"]


def files_under(datadir):
    return [f for f in pathlib.Path(datadir).rglob("*")
            if f.is_file() and ".tmp" not in f.parts]


def read_all(eng, ctx, image_id):
    reader = eng.data.open(ctx, IMAGES, image_id, "image").read()
    try:
        return b"".join(iter(lambda: reader.read(1 << 20), b""))
    finally:
        reader.close()


def test_a_failing_upload_filter_releases_the_claim(eng):
    ctx = admin()
    art = image(eng, ctx)

    def broken(ctx, artifact, chunks, **_):
        raise errors.Invalid("the filter refused")
    IMAGES.hooks["upload_filter"].append(broken)
    try:
        with pytest.raises(errors.Invalid):
            eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA])
    finally:
        IMAGES.hooks["upload_filter"].remove(broken)
    assert eng.get(ctx, IMAGES, art["id"])["status"] == "queued"
    assert eng.data.uploads_in_progress(art["id"]) == 0
    eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA])
    assert eng.get(ctx, IMAGES, art["id"])["status"] == "active"


def test_reads_fall_through_to_the_next_location(eng, tmp_path):
    ctx = admin()
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA], store="cold")
    eng.data.copy_to_store(ctx, IMAGES, art["id"], "image", "fast")
    first, second = eng.stores.read_order(locations(eng, ctx, art["id"]))
    assert (first["store"], second["store"]) == ("fast", "cold")
    # The preferred copy vanished underneath us: the other one serves.
    os.unlink(first["url"][len("file://"):])
    assert read_all(eng, ctx, art["id"]) == DATA
    os.unlink(second["url"][len("file://"):])
    with pytest.raises(errors.StoreUnavailable) as exc:
        read_all(eng, ctx, art["id"])
    assert "'fast'" in exc.value.message and "'cold'" in exc.value.message


def test_preferred_stores_are_read_first(eng):
    """A download's ``prefer`` (Glance's ``?prefer=``) puts the locations
    in those stores first; the others stay as the fallback."""
    ctx = admin()
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA], store="fast")
    eng.data.copy_to_store(ctx, IMAGES, art["id"], "image", "cold")
    cold = [loc for loc in locations(eng, ctx, art["id"])
            if loc["store"] == "cold"][0]
    # Same size, other bytes: tells which copy served the read.
    with open(cold["url"][len("file://"):], "r+b") as f:
        f.write(b"X" * len(DATA))

    def read(prefer):
        download = eng.data.open(ctx, IMAGES, art["id"], "image")
        download.prefer = prefer
        reader = download.read()
        try:
            return reader.read(len(DATA) + 1)
        finally:
            reader.close()
    assert read(()) == DATA
    assert read(("cold",)) == b"X" * len(DATA)
    assert read(("nowhere",)) == DATA


def test_a_location_the_store_refuses_falls_through(eng, tmp_path):
    """A location outside the store's directory (say, a migrated path) is
    a store error for the read, not a 403 for the client."""
    ctx = admin()
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA], store="cold")
    from artifacts.db import api as db_api
    from artifacts.db.session import transaction
    [blob] = eng.get(ctx, IMAGES, art["id"])["blobs"]
    outside = tmp_path / "elsewhere"
    outside.write_bytes(DATA)
    transaction(eng.db, lambda c: db_api.add_locations(
        c, blob["id"], [{"store": "fast", "url": "file://%s" % outside}]))
    # "fast" weighs more, so its (refused) location is tried first.
    assert read_all(eng, ctx, art["id"]) == DATA


def test_remove_from_store_keeps_the_others_and_never_the_last(eng):
    ctx = admin()
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA])
    eng.data.copy_to_store(ctx, IMAGES, art["id"], "image", "cold")
    with pytest.raises(errors.Conflict):
        eng.data.copy_to_store(ctx, IMAGES, art["id"], "image", "cold")
    fast = [loc for loc in locations(eng, ctx, art["id"])
            if loc["store"] == "fast"][0]
    eng.data.remove_from_store(ctx, IMAGES, art["id"], "image", "fast")
    assert [loc["store"] for loc in locations(eng, ctx, art["id"])] == [
        "cold"]
    assert not os.path.exists(fast["url"][len("file://"):])
    assert read_all(eng, ctx, art["id"]) == DATA
    with pytest.raises(errors.Forbidden):
        eng.data.remove_from_store(ctx, IMAGES, art["id"], "image", "cold")
    assert read_all(eng, ctx, art["id"]) == DATA


def test_import_reads_the_staged_data_once(eng):
    """Staged data in the staging store is inspected and copied to the
    target store in one pass, then the staging copy goes."""
    ctx = admin()
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "staging", [DATA])
    staging = eng.stores.staging
    staged = [b for b in eng.get(ctx, IMAGES, art["id"])["blobs"]
              if b["field"] == "staging"][0]["locations"][0]
    assert staged["store"] == staging.name
    opened = staging.opened
    eng.data.import_staged(ctx, IMAGES, art["id"], stores=["cold"])
    assert staging.opened == opened + 1
    got = eng.get(ctx, IMAGES, art["id"])
    assert got["status"] == "active"
    assert got["properties"]["virtual_size"] == len(DATA)
    assert [loc["store"] for loc in locations(eng, ctx, art["id"])] == [
        "cold"]
    assert not os.path.exists(staged["url"][len("file://"):])
    assert read_all(eng, ctx, art["id"]) == DATA


def staged(eng, ctx):
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "staging", [DATA])
    return art


def test_import_into_several_stores_before_it_is_active(eng):
    ctx = admin()
    art = staged(eng, ctx)
    assert eng.data.import_staged(ctx, IMAGES, art["id"],
                                  stores=["cold", "fast"]) == []
    got = eng.get(ctx, IMAGES, art["id"])
    assert got["status"] == "active"
    assert sorted(loc["store"] for loc in locations(eng, ctx, art["id"])) \
        == ["cold", "fast"]


def test_a_failing_store_fails_the_import_but_keeps_the_staged_data(eng):
    """all_must_succeed (Glance's default): nothing is imported, nothing
    staged is lost, the import can be tried again."""
    ctx = admin()
    art = staged(eng, ctx)
    with pytest.raises(errors.StoreUnavailable):
        eng.data.import_staged(ctx, IMAGES, art["id"],
                               stores=["cold", "broken"])
    got = eng.get(ctx, IMAGES, art["id"])
    assert got["status"] == "uploading"
    [blob] = got["blobs"]
    assert blob["field"] == "staging" and blob["locations"]
    assert files_under(eng.stores.drivers["cold"].datadir) == []
    # A retry into working stores succeeds with the same staged bytes.
    eng.data.import_staged(ctx, IMAGES, art["id"], stores=["cold"])
    assert read_all(eng, ctx, art["id"]) == DATA


def test_a_failing_store_is_skipped_when_not_all_must_succeed(eng):
    ctx = admin()
    art = staged(eng, ctx)
    failed = eng.data.import_staged(
        ctx, IMAGES, art["id"], stores=["cold", "broken"],
        all_must_succeed=False,
        properties=lambda failed: {"failed_stores": ",".join(failed)})
    assert failed == ["broken"]
    got = eng.get(ctx, IMAGES, art["id"])
    assert got["status"] == "active"
    assert got["properties"]["failed_stores"] == "broken"
    assert [loc["store"] for loc in locations(eng, ctx, art["id"])] == [
        "cold"]


def test_two_copies_to_one_store_leave_one_location(eng, monkeypatch):
    """A copy that finishes second (the store got the data meanwhile)
    discards its own and leaves a single location there."""
    ctx = admin()
    art = image(eng, ctx)
    eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA])
    real_copy = eng.data._copy

    def racing_copy(*args, **kwargs):
        made = real_copy(*args, **kwargs)
        monkeypatch.setattr(eng.data, "_copy", real_copy)
        eng.data.copy_to_store(ctx, IMAGES, art["id"], "image", "cold")
        return made
    monkeypatch.setattr(eng.data, "_copy", racing_copy)
    with pytest.raises(errors.Conflict):
        eng.data.copy_to_store(ctx, IMAGES, art["id"], "image", "cold")
    assert sorted(loc["store"] for loc in locations(eng, ctx, art["id"])) \
        == ["cold", "fast"]
    assert len(files_under(eng.stores.drivers["cold"].datadir)) == 1


def test_a_store_that_fills_up_mid_write_is_glances_413(eng, tmp_path):
    """A disk that fills up after a MiB: Glance's 413 wording (the OS's
    own words are only logged), the image back to queued, nothing
    half-written left and no write record; the image takes data again."""
    ctx = admin()
    art = image(eng, ctx)
    with pytest.raises(errors.RequestTooLarge) as info:
        eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA],
                        store="full")
    assert info.value.message == (
        "Image storage media is full: There is not enough disk space on "
        "the image storage media.")
    assert eng.get(ctx, IMAGES, art["id"])["status"] == "queued"
    assert [f for f in pathlib.Path(tmp_path / "full").rglob("*")
            if f.is_file()] == []
    with eng.db.connect() as conn:
        assert conn.execute(sa.select(store_writes).where(
            store_writes.c.artifact_id == art["id"])).all() == []
    eng.data.upload(ctx, IMAGES, art["id"], "image", [DATA])
    assert read_all(eng, ctx, art["id"]) == DATA


def test_restage_replaces_the_staged_data_in_the_staged_status(eng):
    """Import plugins' output: new staged data replaces the old (which is
    deleted), the given properties are set with it, the status stays."""
    ctx = admin()
    art = staged(eng, ctx)
    old = [b for b in eng.get(ctx, IMAGES, art["id"])["blobs"]
           if b["field"] == "staging"][0]["locations"][0]["url"]
    new = b"converted" * 1000
    eng.data.upload(ctx, IMAGES, art["id"], "staging", [new],
                    restage={"disk_format": "ami"})
    got = eng.get(ctx, IMAGES, art["id"])
    assert got["status"] == "uploading"
    assert got["properties"]["disk_format"] == "ami"
    assert got["properties"]["size"] == len(new)
    [blob] = [b for b in got["blobs"] if b["status"] == "active"]
    assert blob["size"] == len(new) and blob["md5"] == hashlib.md5(
        new).hexdigest()
    assert not os.path.exists(old[len("file://"):])
    eng.data.import_staged(ctx, IMAGES, art["id"], stores=["cold"])
    assert read_all(eng, ctx, art["id"]) == new


def test_restage_needs_staged_data(eng):
    ctx = admin()
    art = image(eng, ctx)
    with pytest.raises(errors.Conflict, match="no staged data to replace"):
        eng.data.upload(ctx, IMAGES, art["id"], "staging", [b"x"],
                        restage={})
    assert eng.get(ctx, IMAGES, art["id"])["status"] == "queued"
