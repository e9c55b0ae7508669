"""artifacts/locations.py: which URLs may become locations, and edits of a
blob's location list written with the artifact in one transaction (real
filesystem stores, a foreign rbd store, SQLite)."""

import os
import uuid

import pytest

from artifacts import errors, stores
from artifacts.context import RequestContext
from artifacts.engine import Engine, Limits
from artifacts.locations import Added, BadLocation, Kept, LocationEdit
from artifacts.stores.placement import StoreSet
from artifacts.types.images import IMAGES

DATA = os.urandom(70000)


@pytest.fixture
def eng(db_engine, enforcer, tmp_path):
    def fs(name, **options):
        return stores.create("filesystem", name,
                             dict(options, datadir=str(tmp_path / name)))
    drivers = {"fast": fs("fast"), "cold": fs("cold"),
               "old": fs("old", read_only=True),
               "ceph": stores.create("foreign", "ceph",
                                     {"schemes": ["rbd"]})}
    store_set = StoreSet(drivers=drivers, default="fast",
                         weights={"fast": 100, "cold": 50})
    return Engine(db_engine, drivers["fast"], enforcer, Limits(),
                  stores=store_set)


def admin():
    return RequestContext(project_id="p-" + uuid.uuid4().hex[:8],
                          user_id="admin", roles=("admin", "member",
                                                  "reader"))


def image(eng, ctx, data=None):
    art = eng.create(ctx, IMAGES, {"name": "i", "properties": {
        "disk_format": "raw", "container_format": "bare"}})
    if data is not None:
        eng.data.upload(ctx, IMAGES, art["id"], "image", [data])
    return eng.get(ctx, IMAGES, art["id"])


def put_file(eng, store, name, data=DATA):
    path = os.path.join(eng.stores.driver(store).datadir, name)
    with open(path, "wb") as f:
        f.write(data)
    return "file://" + path


def image_locations(art):
    return [loc for b in art["blobs"] if b["field"] == "image"
            and b["status"] == "active" for loc in b["locations"]]


def edit(eng, ctx, art_id, build):
    """engine.update with a mutate that returns ``build(artifact)``."""
    return eng.update(ctx, IMAGES, art_id, build)


# ------------------------------------------------------------- resolve


@pytest.mark.parametrize("url", ["foo://bar/x", "swift+config://ref/c/o",
                                 "file:///etc/passwd", "not a url", ""])
def test_a_url_no_store_owns_is_refused(eng, url):
    with pytest.raises(BadLocation):
        eng.locations.resolve(url, trusted=True)


def test_a_file_in_a_store_is_resolved_for_an_admin(eng):
    url = put_file(eng, "cold", "registered")
    found = eng.locations.resolve(url, trusted=True)
    assert (found.store, found.size, found.managed) == ("cold", len(DATA),
                                                        True)


def test_a_tenant_may_not_name_data_in_managed_or_file_stores(eng):
    for store in ("cold", "old"):
        url = put_file(eng, store, "mine")
        with pytest.raises(BadLocation) as exc:
            eng.locations.resolve(url, trusted=False)
        assert "only an administrator" in exc.value.message


def test_file_paths_that_escape_or_alias_are_refused(eng, tmp_path):
    url = put_file(eng, "cold", "target")
    datadir = eng.stores.driver("cold").datadir
    outside = tmp_path / "outside"
    outside.write_bytes(DATA)
    os.symlink(str(outside), os.path.join(datadir, "escape"))
    os.symlink(url[len("file://"):], os.path.join(datadir, "alias"))
    for bad in ("file://%s/../outside" % datadir,
                "file://%s/escape" % datadir,
                "file://%s/alias" % datadir,
                "file://%s/./target" % datadir,
                "file://%s//target" % datadir,
                "file://" + datadir.lstrip("/") + "/target"):
        with pytest.raises(BadLocation):
            eng.locations.resolve(bad, trusted=True)


def test_empty_missing_or_other_sized_data_is_refused(eng):
    empty = put_file(eng, "cold", "empty", b"")
    with pytest.raises(BadLocation, match="no data there"):
        eng.locations.resolve(empty, trusted=True)
    missing = "file://%s/missing" % eng.stores.driver("cold").datadir
    with pytest.raises(BadLocation, match="cannot read it"):
        eng.locations.resolve(missing, trusted=True)
    url = put_file(eng, "cold", "sized")
    with pytest.raises(BadLocation, match="holds %d bytes" % len(DATA)):
        eng.locations.resolve(url, trusted=True, size=len(DATA) + 1)


def test_a_foreign_location_is_taken_on_trust(eng):
    found = eng.locations.resolve("rbd://fsid/images/abc/snap",
                                  trusted=False)
    assert (found.store, found.size, found.managed) == ("ceph", None, False)


# ---------------------------------------------------------------- edits


def test_the_first_location_makes_a_queued_image_active(eng):
    ctx = admin()
    art = image(eng, ctx)
    url = put_file(eng, "cold", "first")
    found = eng.locations.resolve(url, trusted=True)

    def build(img):
        return LocationEdit("image", [Added(found, {"k": "v"})],
                            values={"size": found.size},
                            digests={"md5": "0" * 32})
    saved = edit(eng, ctx, art["id"], build)
    assert saved["status"] == "active"
    assert saved["properties"]["size"] == len(DATA)
    [loc] = image_locations(saved)
    assert (loc["url"], loc["store"], loc["metadata"]) == (url, "cold",
                                                           {"k": "v"})
    [blob] = [b for b in saved["blobs"] if b["field"] == "image"]
    assert (blob["size"], blob["md5"]) == (len(DATA), "0" * 32)
    reader = eng.data.open(ctx, IMAGES, art["id"], "image").read()
    assert reader.read() == DATA
    reader.close()


def test_locations_are_kept_moved_and_removed_in_one_edit(eng):
    ctx = admin()
    art = image(eng, ctx, DATA)
    [own] = image_locations(art)
    url = put_file(eng, "cold", "second")
    found = eng.locations.resolve(url, trusted=True, size=len(DATA))
    saved = edit(eng, ctx, art["id"], lambda img: LocationEdit(
        "image", [Added(found, {}), Kept(own["id"], {"note": 1})]))
    assert [(loc["url"], loc["metadata"]) for loc in image_locations(saved)
            ] == [(url, {}), (own["url"], {"note": 1})]
    # Removing Glare's own copy deletes its data after the commit.
    saved = edit(eng, ctx, art["id"], lambda img: LocationEdit(
        "image", [Kept(image_locations(img)[0]["id"], {})]))
    assert [loc["url"] for loc in image_locations(saved)] == [url]
    assert not os.path.exists(own["url"][len("file://"):])
    assert os.path.exists(url[len("file://"):])


def test_removing_a_read_only_location_leaves_its_data(eng):
    ctx = admin()
    art = image(eng, ctx, DATA)
    [own] = image_locations(art)
    url = put_file(eng, "old", "kept")
    found = eng.locations.resolve(url, trusted=True)
    edit(eng, ctx, art["id"], lambda img: LocationEdit(
        "image", [Kept(own["id"], {}), Added(found, {})]))
    saved = edit(eng, ctx, art["id"], lambda img: LocationEdit(
        "image", [Kept(own["id"], {})]))
    assert len(image_locations(saved)) == 1
    assert os.path.exists(url[len("file://"):])
    assert eng.scrub() == 0


def test_a_refused_edit_changes_nothing(eng):
    ctx = admin()
    art = image(eng, ctx, DATA)
    other = image(eng, ctx, DATA)
    [own] = image_locations(art)
    [theirs] = image_locations(other)
    # Another image's data: never shared (deleting one would delete both).
    found = eng.locations.resolve(theirs["url"], trusted=True,
                                  size=len(DATA))

    def build(img):
        img["name"] = "renamed"
        return LocationEdit("image", [Kept(own["id"], {}),
                                      Added(found, {})])
    with pytest.raises(BadLocation, match="already the data"):
        edit(eng, ctx, art["id"], build)
    after = eng.get(ctx, IMAGES, art["id"])
    assert after["name"] == "i"
    assert image_locations(after) == image_locations(art)
    with pytest.raises(errors.Forbidden):
        edit(eng, ctx, art["id"], lambda img: LocationEdit("image", []))
    with pytest.raises(BadLocation, match="twice"):
        edit(eng, ctx, art["id"], lambda img: LocationEdit(
            "image", [Kept(own["id"], {}), Kept(own["id"], {})]))
    assert eng.get(ctx, IMAGES, art["id"])["revision"] == after["revision"]


def test_only_system_fields_come_with_the_data(eng):
    ctx = admin()
    art = image(eng, ctx, DATA)
    [own] = image_locations(art)
    with pytest.raises(errors.Invalid):
        edit(eng, ctx, art["id"], lambda img: LocationEdit(
            "image", [Kept(own["id"], {})], values={"min_ram": 5}))


def test_first_data_needs_the_initial_status(eng):
    ctx = admin()
    art = image(eng, ctx)
    found = eng.locations.resolve("rbd://fsid/pool/img/snap")
    eng.data.upload(ctx, IMAGES, art["id"], "staging", [DATA])
    with pytest.raises(errors.Conflict):
        edit(eng, ctx, art["id"], lambda img: LocationEdit(
            "image", [Added(found, {})]))


def test_a_sized_location_gives_unsized_data_its_size(eng):
    ctx = admin()
    art = image(eng, ctx)
    rbd = eng.locations.resolve("rbd://fsid/images/a/snap")
    edit(eng, ctx, art["id"], lambda img: LocationEdit(
        "image", [Added(rbd, {})]))
    found = eng.locations.resolve(put_file(eng, "cold", "sized"),
                                  trusted=True)
    saved = edit(eng, ctx, art["id"], lambda img: LocationEdit(
        "image", [Kept(image_locations(img)[0]["id"], {}),
                  Added(found, {})], values={"size": found.size}))
    [blob] = [b for b in saved["blobs"] if b["field"] == "image"]
    assert blob["size"] == saved["properties"]["size"] == len(DATA)
    reader = eng.data.open(ctx, IMAGES, art["id"], "image").read()
    assert reader.read() == DATA     # the rbd location cannot be read
    reader.close()
