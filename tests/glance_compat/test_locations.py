"""Glance's rules for PATCH of /locations (glance_compat/locations.py):
validation_data, positions, quota, URL checks, status rules, in Glance's
order and words (glance/api/v2/images.py _do_*_locations, location.py).

The URLs are resolved by the real ``artifacts.locations.Locations`` over
real filesystem stores and a foreign rbd store."""

import datetime
import hashlib
import os
import types

import pytest

from artifacts import errors, external, stores
from artifacts.locations import Added, Kept, Locations
from artifacts.stores.placement import StoreSet
from glance_compat import patch
from glance_compat.common import Settings
from glance_compat.locations import (LocationOps, check_validation_data,
                                     position)
from glance_compat.patch import MEDIA_V21
from glance_compat.schemas import SchemaSet
from glare import config

DATA = b"x" * 1000
SHA512 = hashlib.sha512(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()
SETTINGS = Settings(show_multiple_locations=True, multi_store=True,
                    image_location_quota=3)


@pytest.fixture(scope="module")
def schemas():
    return SchemaSet(config.load())


@pytest.fixture
def located(tmp_path):
    drivers = {
        "fast": stores.create("filesystem", "fast",
                              {"datadir": str(tmp_path / "fast")}),
        "cold": stores.create("filesystem", "cold",
                              {"datadir": str(tmp_path / "cold")}),
        "ceph": stores.create("foreign", "ceph", {"schemes": ["rbd"]})}
    store_set = StoreSet(drivers=drivers, default="fast",
                         weights={"fast": 100, "cold": 50})
    engine = types.SimpleNamespace(
        data=types.SimpleNamespace(stores=store_set),
        external_policy=external.policy())
    return Locations(engine)


def put(located, store, name, data=DATA):
    path = os.path.join(located.stores.driver(store).datadir, name)
    with open(path, "wb") as f:
        f.write(data)
    return "file://" + path


def image(status="queued", locations=(), **props):
    props.setdefault("disk_format", "raw")
    props.setdefault("container_format", "bare")
    blobs = []
    if locations:
        blobs = [{"field": "image", "status": "active", "path": "",
                  "locations": [{"id": i + 1, "url": url, "store": store,
                                 "metadata": {}, "status": "active"}
                                for i, (store, url) in enumerate(locations)]}]
    return {"id": "56c2f4f0-cb7a-43ec-a63f-b58ce41ed179", "name": "img",
            "owner": "p1", "visibility": "shared", "status": status,
            "protected": False, "hidden": False,
            "created_at": datetime.datetime(2024, 1, 1),
            "updated_at": datetime.datetime(2024, 1, 1),
            "properties": props, "tags": set(), "blobs": blobs}


def run(schemas, art, *ops, located=None, trusted=False, settings=SETTINGS,
        checked=None):
    """patch.apply with a LocationOps; returns the LocationEdit."""
    enforce = None if checked is None else checked.append
    loc_ops = LocationOps(settings, located, enforce=enforce,
                          trusted=trusted)
    return patch.apply(art, patch.parse(list(ops), MEDIA_V21), MEDIA_V21,
                       schemas, settings, locations=loc_ops,
                       enforce=loc_ops.enforce)


def refused(kind, schemas, art, *ops, **kwargs):
    with pytest.raises(kind) as exc:
        run(schemas, art, *ops, **kwargs)
    return exc.value


def add(url, path="/locations/-", **extra):
    value = {"url": url, "metadata": {}}
    value.update(extra)
    return {"op": "add", "path": path, "value": value}


def remove(index):
    return {"op": "remove", "path": "/locations/%s" % index}


# ------------------------------------------------------------- pieces


@pytest.mark.parametrize("path_pos,count,allow_end,expected", [
    ("-", 2, True, 2), ("-", 2, False, 1), ("0", 2, False, 0),
    ("7", 2, True, 7), ("2", 2, False, None), ("x", 2, True, None),
    ("-1", 2, True, None), ("\u00b2", 2, True, None), ("-", 0, False, None),
])
def test_position_is_glances(path_pos, count, allow_end, expected):
    assert position(path_pos, count, allow_end) == expected


def _validation_error(art, data):
    with pytest.raises(errors.Conflict) as exc:
        check_validation_data(art, [{"validation_data": data}], "sha512")
    return exc.value.message


def test_validation_data_rules():
    queued = image()
    assert check_validation_data(queued, [{"url": "x"}], "sha512") == {}
    given = {"checksum": MD5, "os_hash_algo": "sha512",
             "os_hash_value": SHA512}
    assert check_validation_data(queued, [{"validation_data": given}],
                                 "sha512") == given
    with pytest.raises(errors.Conflict, match="^Conflicting values for "
                                              "os_hash_value$"):
        check_validation_data(queued, [
            {"validation_data": given},
            {"validation_data": dict(given, os_hash_value="0" * 128)}],
            "sha512")
    assert _validation_error(queued, dict(given, checksum="zz" * 16)) == (
        "checksum (%s) is not a valid hexadecimal value" % ("zz" * 16))
    assert _validation_error(queued, dict(given, checksum="0" * 30)) == (
        "checksum (%s) is not the correct size for md5 (should be 16 "
        "bytes)" % ("0" * 30))
    assert _validation_error(queued, dict(given, os_hash_algo="sha256")) \
        == "os_hash_algo must be sha512, not sha256"
    assert _validation_error(queued, dict(given, os_hash_value="0" * 64)) \
        == ("os_hash_value (%s) is not the correct size for sha512 (should "
            "be 64 bytes)" % ("0" * 64))
    assert _validation_error(queued, dict(given, os_hash_value="g" * 128)) \
        == "os_hash_value (%s) is not a valid hexadecimal value" % ("g" * 128)
    active = image("active", checksum=MD5, os_hash_algo="sha512",
                   os_hash_value=SHA512, size=len(DATA))
    # Confirming what the image has is fine; anything else is 409.
    assert check_validation_data(active, [{"validation_data": given}],
                                 "sha512") == {}
    assert _validation_error(active, dict(given, os_hash_value="0" * 128)) \
        == "os_hash_value is already set with a different value"
    no_hash = image("active", size=len(DATA))
    assert _validation_error(no_hash, given) == (
        "New value(s) for checksum, os_hash_algo, os_hash_value may only be "
        "provided when image status is 'queued'")


# ----------------------------------------------------------------- add


def test_adding_to_a_queued_image_makes_it_active(schemas, located):
    art = image()
    url = put(located, "cold", "data")
    checked = []
    edit = run(schemas, art, add(url, validation_data={
        "checksum": MD5, "os_hash_algo": "sha512", "os_hash_value": SHA512}),
        located=located, trusted=True, checked=checked)
    assert checked == ["set_location"]
    assert art["status"] == "active"
    [entry] = edit.locations
    assert isinstance(entry, Added)
    assert entry.resolved.store == "cold"
    assert entry.metadata == {"store": "cold"}
    assert edit.values == {"size": len(DATA), "checksum": MD5,
                           "os_hash_algo": "sha512", "os_hash_value": SHA512}
    assert edit.digests == {"md5": MD5, "sha512": SHA512}


def test_store_in_metadata_follows_the_url(schemas, located):
    art = image()
    url = put(located, "cold", "data")
    edit = run(schemas, art, add(url, metadata={"store": "fast", "k": 1}),
               located=located, trusted=True)
    assert edit.locations[0].metadata == {"store": "cold", "k": 1}
    single = Settings(show_multiple_locations=True)
    edit = run(schemas, image(), add(url, metadata={"k": 1}),
               located=located, trusted=True, settings=single)
    assert edit.locations[0].metadata == {"k": 1}


def test_a_queued_image_needs_its_formats(schemas, located):
    art = image(disk_format=None, container_format=None)
    err = refused(errors.Invalid, schemas, art, add(
        put(located, "cold", "data")), located=located, trusted=True)
    assert err.message == ("Properties disk_format, container_format must "
                           "be set prior to saving data.")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/image.raw", "foo://bar/image.raw",
    "swift+config://ref/container/obj", "filesystem:///x",
    "file:///etc/passwd"])
def test_unusable_urls_are_invalid_location(schemas, located, url):
    err = refused(errors.Invalid, schemas, image(), add(url),
                  located=located, trusted=True)
    assert err.message == "Invalid location"


def test_tenants_never_name_file_or_managed_data(schemas, located):
    url = put(located, "cold", "data")
    err = refused(errors.Invalid, schemas, image(), add(url),
                  located=located, trusted=False)
    assert err.message == "Invalid location"


def test_escaping_file_paths_are_invalid_location(schemas, located,
                                                  tmp_path):
    datadir = located.stores.driver("cold").datadir
    (tmp_path / "secret").write_bytes(DATA)
    os.symlink(str(tmp_path / "secret"), os.path.join(datadir, "link"))
    for url in ("file://%s/../secret" % datadir, "file://%s/link" % datadir):
        err = refused(errors.Invalid, schemas, image(), add(url),
                      located=located, trusted=True)
        assert err.message == "Invalid location"


def test_a_foreign_location_needs_no_read(schemas, located):
    art = image()
    edit = run(schemas, art, add("rbd://fsid/images/abc/snap"),
               located=located)
    assert art["status"] == "active"
    assert edit.values == {}
    assert edit.locations[0].resolved.size is None


def test_checks_come_in_glances_order(schemas, located):
    """Invisible (403) before status (409) before validation_data (409)
    before position (400) before quota (413) before the URL (400)."""
    hidden = Settings(show_multiple_locations=False)
    err = refused(errors.Forbidden, schemas, image("saving"),
                  add("foo://x"), located=located, settings=hidden)
    assert err.message == ("It's not allowed to add locations if locations "
                           "are invisible.")
    assert not err.detail_form
    err = refused(errors.Conflict, schemas, image("saving"),
                  add("foo://x", validation_data={"os_hash_algo": "md4",
                                                  "os_hash_value": "0"}),
                  located=located)
    assert err.message == ("It's not allowed to add locations if image "
                           "status is saving.")
    err = refused(errors.Conflict, schemas, image(), add(
        "foo://x", path="/locations/x", validation_data={
            "os_hash_algo": "md4", "os_hash_value": "0" * 128}),
        located=located)
    assert err.message == "os_hash_algo must be sha512, not md4"
    err = refused(errors.Invalid, schemas, image(),
                  add("foo://x", path="/locations/x"), located=located)
    assert err.message == "Invalid position for adding a location."
    full = image("active", size=len(DATA), locations=[
        ("fast", put(located, "fast", "a")), ("cold", put(located, "cold",
                                                          "b")),
        ("cold", put(located, "cold", "c"))])
    err = refused(errors.RequestTooLarge, schemas, full, add("foo://x"),
                  located=located)
    assert err.message == ("The limit has been exceeded on the number of "
                           "allowed image locations. Attempted: 4, "
                           "Maximum: 3")


def test_duplicates_and_other_sizes_are_refused(schemas, located):
    url = put(located, "fast", "a")
    art = image("active", size=len(DATA), locations=[("fast", url)])
    err = refused(errors.Invalid, schemas, art, add(url), located=located,
                  trusted=True)
    assert err.message == "The location %s already exists" % url
    other = put(located, "cold", "short", b"x" * 10)
    err = refused(errors.Invalid, schemas, art, add(other),
                  located=located, trusted=True)
    assert err.message == "Invalid location"


def test_adding_at_a_position(schemas, located):
    first, second = put(located, "fast", "a"), put(located, "fast", "b")
    art = image("active", size=len(DATA), locations=[("fast", first)])
    edit = run(schemas, art, add(second, path="/locations/0"),
               located=located, trusted=True)
    assert isinstance(edit.locations[0], Added)
    assert edit.locations[1] == Kept(1, {"store": "fast"})


def test_the_schema_is_checked_first(schemas, located):
    err = refused(errors.Invalid, schemas, image(), add(
        "foo://x", validation_data={"checksum": MD5}), located=located)
    assert err.message.startswith(
        "Provided object does not match schema 'image': 'os_hash_algo' is "
        "a required property")
    err = refused(errors.Invalid, schemas, image(),
                  add("foo://" + "x" * 300), located=located)
    assert "is too long" in err.message


# ------------------------------------------------------------- replace


def test_replace_changes_only_metadata_of_the_same_urls(schemas, located):
    a, b = put(located, "fast", "a"), put(located, "cold", "b")
    art = image("active", size=len(DATA), locations=[("fast", a),
                                                     ("cold", b)])
    edit = run(schemas, art, {"op": "replace", "path": "/locations",
                              "value": [{"url": b, "metadata": {"n": 1}},
                                        {"url": a, "metadata": {}}]},
               located=located)
    assert edit.locations == [Kept(2, {"n": 1, "store": "cold"}),
                              Kept(1, {"store": "fast"})]


def test_replace_with_other_urls_is_refused(schemas, located):
    a = put(located, "fast", "a")
    art = image("active", size=len(DATA), locations=[("fast", a)])
    err = refused(errors.Invalid, schemas, art, {
        "op": "replace", "path": "/locations",
        "value": [{"url": "foo://x", "metadata": {}}]}, located=located)
    assert err.message == (
        "Original locations is not empty: [{'id': 1, 'url': '%s', "
        "'metadata': {'store': 'fast'}, 'status': 'active'}]" % a)


def test_replace_on_a_queued_image_sets_its_locations(schemas, located):
    a, b = put(located, "fast", "a"), put(located, "cold", "b")
    art = image()
    value = [{"url": a, "metadata": {}}, {"url": b, "metadata": {}}]
    edit = run(schemas, art, {"op": "replace", "path": "/locations",
                              "value": value}, located=located,
               trusted=True)
    assert art["status"] == "active"
    assert [e.resolved.url for e in edit.locations] == [a, b]
    err = refused(errors.Invalid, schemas, image(), {
        "op": "replace", "path": "/locations", "value": [value[0]] * 2},
        located=located, trusted=True)
    assert err.message == "The location %s already exists" % a
    err = refused(errors.Conflict, schemas, image("deactivated"), {
        "op": "replace", "path": "/locations", "value": value},
        located=located)
    assert err.message == ("It's not allowed to replace locations if image "
                           "status is deactivated.")
    err = refused(errors.RequestTooLarge, schemas, image(), {
        "op": "replace", "path": "/locations", "value": [
            {"url": "foo://%d" % i, "metadata": {}} for i in range(4)]},
        located=located)
    assert "Attempted: 4, Maximum: 3" in err.message


# -------------------------------------------------------------- remove


def test_remove_rules(schemas, located):
    a, b = put(located, "fast", "a"), put(located, "cold", "b")
    one = image("active", size=len(DATA), locations=[("fast", a)])
    checked = []
    err = refused(errors.Forbidden, schemas, one, remove(0),
                  located=located, checked=checked)
    assert checked == ["delete_location"]
    assert err.message == "Cannot remove last location in the image."
    assert err.detail_form
    two = image("active", size=len(DATA), locations=[("fast", a),
                                                     ("cold", b)])
    err = refused(errors.Invalid, schemas, two, remove(2), located=located)
    assert err.message == "Invalid position for removing a location."
    edit = run(schemas, two, remove("-"), located=located)
    assert edit.locations == [Kept(1, {"store": "fast"})]
    err = refused(errors.Conflict, schemas, image(), remove(0),
                  located=located)
    assert err.message == ("It's not allowed to remove locations if image "
                           "status is queued.")


def test_other_changes_check_modify_image_once(schemas, located):
    a = put(located, "fast", "a")
    art = image("active", size=len(DATA), locations=[("fast", a)])
    checked = []
    run(schemas, art, {"op": "replace", "path": "/name", "value": "n"},
        {"op": "replace", "path": "/locations",
         "value": [{"url": a, "metadata": {"x": 1}}]},
        {"op": "add", "path": "/k", "value": "v"}, located=located,
        checked=checked)
    assert checked == ["update", "set_location"]
    assert art["name"] == "n" and art["properties"]["k"] == "v"
