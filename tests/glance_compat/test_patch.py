"""PATCH /v2/images/{id} documents: both dialects, JSON pointers and the
rules of each operation (glance-v2-surface.md §3.2 and §5)."""

import copy
import datetime

import pytest

from artifacts import errors
from glance_compat import patch
from glance_compat.common import Settings
from glance_compat.patch import MEDIA_V20, MEDIA_V21, Change
from glance_compat.schemas import SchemaSet
from glare import config


@pytest.fixture(scope="module")
def schemas():
    return SchemaSet(config.load())


def image(**overrides):
    art = {
        "id": "56c2f4f0-cb7a-43ec-a63f-b58ce41ed179", "name": "img",
        "owner": "p1", "visibility": "shared", "status": "queued",
        "protected": False, "hidden": False,
        "created_at": datetime.datetime(2024, 1, 1),
        "updated_at": datetime.datetime(2024, 1, 1),
        "properties": {"min_ram": 0, "min_disk": 0, "foo": "bar"},
        "tags": {"t1"}, "blobs": [],
    }
    art.update(overrides)
    return art


def v21(*ops):
    return patch.parse(list(ops), MEDIA_V21)


def v20(*ops):
    return patch.parse(list(ops), MEDIA_V20)


def parse_error(body, media=MEDIA_V21):
    with pytest.raises(errors.Invalid) as exc:
        patch.parse(body, media)
    assert exc.value.status == 400
    return exc.value.message


def apply(schemas, art, changes, media=MEDIA_V21, settings=None):
    patch.apply(art, changes, media, schemas, settings or Settings())
    return art


def apply_error(schemas, art, changes, kind, media=MEDIA_V21, settings=None):
    before = copy.deepcopy(art)
    with pytest.raises(kind) as exc:
        apply(schemas, art, changes, media, settings)
    return exc.value, before


# ------------------------------------------------------------ v2.1 parsing

def test_v21_operations():
    assert v21({"op": "replace", "path": "/name", "value": "x"},
               {"op": "add", "path": "/foo", "value": None},
               {"op": "remove", "path": "/bar"}) == [
        Change("replace", "name", "x"), Change("add", "foo", None),
        Change("remove", "bar", None)]


def test_empty_document():
    assert v21() == []


def test_v21_missing_op():
    assert parse_error([{"path": "/name", "value": "x"}]) == (
        "Unable to find `op` in JSON Schema change. It must be one of the "
        "following: add, remove, replace.")


@pytest.mark.parametrize("op", ["move", "copy", "test", "ADD", ""])
def test_v21_invalid_op(op):
    assert parse_error([{"op": op, "path": "/name", "value": "x"}]) == (
        "Invalid operation: `%s`. It must be one of the following: add, "
        "remove, replace." % op)


def test_v21_missing_path():
    assert parse_error([{"op": "add", "value": "x"}]) == \
        "Unable to find 'path' in JSON Schema change"


@pytest.mark.parametrize("media", [MEDIA_V21, MEDIA_V20])
@pytest.mark.parametrize("op", ["add", "replace"])
def test_value_is_required(media, op):
    raw = {"op": op, "path": "/x"} if media == MEDIA_V21 else {op: "/x"}
    assert parse_error([raw], media) == (
        'Operation "%s" requires a member named "value".' % op)


@pytest.mark.parametrize("body", [{}, {"op": "add"}, "x", None, 1])
def test_body_must_be_a_list(body):
    assert parse_error(body) == ("Request body must be a JSON array of "
                                 "operation objects.")


@pytest.mark.parametrize("item", [[], "add", 1, None])
def test_operations_must_be_objects(item):
    assert parse_error([item]) == "Operations must be JSON objects."


# ------------------------------------------------------------ v2.0 parsing

def test_v20_operations():
    assert v20({"replace": "/name", "value": "x"}, {"add": "/foo",
                                                   "value": "y"},
               {"remove": "/bar"}) == [
        Change("replace", "name", "x"), Change("add", "foo", "y"),
        Change("remove", "bar", None)]


def test_v20_needs_an_operation():
    assert parse_error([{"path": "/name", "value": "x"}], MEDIA_V20) == (
        'Operation objects must contain exactly one member named "add", '
        '"remove", or "replace".')


def test_v20_needs_only_one_operation():
    assert parse_error([{"add": "/a", "remove": "/b", "value": 1}],
                       MEDIA_V20) == (
        'Operation objects must contain only one member named "add", '
        '"remove", or "replace".')


def test_v20_ignores_an_op_member():
    # "op" means nothing in the old dialect.
    assert parse_error([{"op": "add", "path": "/x", "value": 1}],
                       MEDIA_V20).startswith("Operation objects must")


# ------------------------------------------------------------- JSON pointer

@pytest.mark.parametrize("path,name", [
    ("/name", "name"),
    ("/a~1b", "a/b"),
    ("/a~0b", "a~b"),
    ("/~01", "~1"),          # ~0 then "1", not ~1
    ("/~10", "/0"),
    ("/ name ", "name"),     # segments are whitespace-stripped
])
def test_pointer_escapes(path, name):
    assert v21({"op": "add", "path": path, "value": "v"}) == [
        Change("add", name, "v")]


@pytest.mark.parametrize("path,message", [
    ("name", 'Pointer `name` does not start with "/".'),
    ("", 'Pointer `` does not start with "/".'),
    ("/a//b", 'Pointer `/a//b` contains adjacent "/".'),
    ("/a/ /b", 'Pointer `/a/ /b` contains adjacent "/".'),
    ("/a/", 'Pointer `/a/` end with "/".'),
    ("/a~2b", 'Pointer `/a~2b` contains "~" not part of a recognized '
              'escape sequence.'),
    ("/a~", 'Pointer `/a~` contains "~" not part of a recognized escape '
            'sequence.'),
    ("/~~1", 'Pointer `/~~1` contains "~" not part of a recognized escape '
             'sequence.'),
])
def test_bad_pointers(path, message):
    assert parse_error([{"op": "add", "path": path, "value": "v"}]) == \
        message


@pytest.mark.parametrize("op,path", [
    ("add", "/a/b"), ("replace", "/tags/-"), ("add", "/tags/0"),
    ("remove", "/a/b/c"), ("add", "/locations"), ("remove", "/locations"),
    ("replace", "/locations/0"), ("add", "/locations/0/url"),
])
def test_pointer_depth(op, path):
    assert parse_error([{"op": op, "path": path, "value": "v"}]) == \
        "Invalid JSON pointer for this resource: '%s'" % path


def test_root_pointer_names_the_empty_property():
    # Glance takes "/" as the property "" (and stores it).
    assert v21({"op": "add", "path": "/", "value": "x"}) == [
        Change("add", "", "x")]


def test_pointer_depth_is_checked_before_the_value():
    assert parse_error([{"op": "add", "path": "/a/b"}]) == \
        "Invalid JSON pointer for this resource: '/a/b'"


@pytest.mark.parametrize("op,path", [
    ("add", "/locations/-"), ("add", "/locations/0"),
    ("remove", "/locations/1"), ("replace", "/locations")])
def test_location_pointers(op, path):
    [change] = v21({"op": op, "path": path, "value": []})
    assert (change.op, change.name) == (op, "locations")


# ------------------------------------------------------------------- apply

def test_replace_base_attributes(schemas):
    art = apply(schemas, image(), v21(
        {"op": "replace", "path": "/name", "value": "new"},
        {"op": "replace", "path": "/visibility", "value": "private"},
        {"op": "replace", "path": "/protected", "value": True},
        {"op": "replace", "path": "/os_hidden", "value": True},
        {"op": "replace", "path": "/min_ram", "value": 512},
        {"op": "add", "path": "/min_disk", "value": 10},
        {"op": "replace", "path": "/disk_format", "value": "raw"},
        {"op": "replace", "path": "/container_format", "value": "bare"},
        {"op": "replace", "path": "/owner", "value": "p2"}))
    assert (art["name"], art["visibility"], art["protected"], art["hidden"],
            art["owner"]) == ("new", "private", True, True, "p2")
    assert art["properties"] == {"min_ram": 512, "min_disk": 10,
                                 "foo": "bar", "disk_format": "raw",
                                 "container_format": "bare"}


def test_name_may_be_null(schemas):
    assert apply(schemas, image(), v21(
        {"op": "replace", "path": "/name", "value": None}))["name"] is None


def test_empty_owner_is_null(schemas):
    art = apply(schemas, image(), v21(
        {"op": "replace", "path": "/owner", "value": ""}))
    assert art["owner"] is None


def test_tags_are_replaced_as_a_whole(schemas):
    art = apply(schemas, image(), v21(
        {"op": "replace", "path": "/tags", "value": ["a", "b", "a"]}))
    assert art["tags"] == {"a", "b"}
    art = apply(schemas, image(), v21(
        {"op": "add", "path": "/tags", "value": []}))
    assert art["tags"] == set()


def test_tag_values_are_validated(schemas):
    err, _ = apply_error(schemas, image(), v21(
        {"op": "replace", "path": "/tags", "value": ["x" * 256]}),
        errors.Invalid)
    assert err.message.startswith("Provided object does not match schema "
                                  "'image': ")


def test_v21_add_is_an_upsert(schemas):
    art = apply(schemas, image(), v21(
        {"op": "add", "path": "/foo", "value": "changed"},
        {"op": "add", "path": "/new", "value": "v"},
        {"op": "add", "path": "/name", "value": "n"}))
    assert art["properties"]["foo"] == "changed"
    assert art["properties"]["new"] == "v"
    assert art["name"] == "n"


def test_v20_add_of_something_present_is_a_conflict(schemas):
    art = apply(schemas, image(), v20({"add": "/new", "value": "v"}),
                MEDIA_V20)
    assert art["properties"]["new"] == "v"
    for name in ("foo", "name", "min_ram", "tags", "visibility"):
        value = ["t"] if name == "tags" else (
            1 if name == "min_ram" else (
                "private" if name == "visibility" else "x"))
        err, _ = apply_error(schemas, image(), v20(
            {"add": "/" + name, "value": value}), errors.Conflict,
            MEDIA_V20)
        assert err.message == "Property %s already present." % name
        assert err.status == 409
    # replace works the same in both dialects.
    art = apply(schemas, image(), v20({"replace": "/foo", "value": "y"}),
                MEDIA_V20)
    assert art["properties"]["foo"] == "y"


@pytest.mark.parametrize("media", [MEDIA_V21, MEDIA_V20])
def test_replace_of_a_missing_property_is_a_conflict(schemas, media):
    raw = ({"op": "replace", "path": "/nope", "value": "x"}
           if media == MEDIA_V21 else {"replace": "/nope", "value": "x"})
    err, _ = apply_error(schemas, image(), patch.parse([raw], media),
                         errors.Conflict, media)
    assert err.message == "Property nope does not exist."


def test_remove(schemas):
    art = apply(schemas, image(), v21({"op": "remove", "path": "/foo"}))
    assert "foo" not in art["properties"]
    err, _ = apply_error(schemas, image(), v21(
        {"op": "remove", "path": "/nope"}), errors.Conflict)
    assert err.message == "Property nope does not exist."


@pytest.mark.parametrize("name", ["name", "visibility", "protected",
                                  "os_hidden", "owner", "min_ram", "min_disk",
                                  "disk_format", "container_format", "tags"])
def test_base_attributes_may_not_be_removed(schemas, name):
    err, _ = apply_error(schemas, image(), v21(
        {"op": "remove", "path": "/" + name}), errors.Forbidden)
    assert err.message == "Property %s may not be removed." % name


READ_ONLY = ["created_at", "updated_at", "status", "checksum", "size",
             "virtual_size", "direct_url", "self", "file", "schema", "id",
             "os_hash_algo", "os_hash_value"]


@pytest.mark.parametrize("op", ["add", "replace", "remove"])
@pytest.mark.parametrize("name", READ_ONLY)
def test_read_only_attributes(schemas, op, name):
    err, _ = apply_error(schemas, image(), v21(
        {"op": op, "path": "/" + name, "value": "x"}), errors.Forbidden)
    assert err.message == "Attribute '%s' is read-only." % name


@pytest.mark.parametrize("op", ["add", "replace", "remove"])
@pytest.mark.parametrize("name", ["location", "deleted", "deleted_at",
                                  "os_glance_foo", "os_glance_import_task"])
def test_reserved_attributes(schemas, op, name):
    err, _ = apply_error(schemas, image(), v21(
        {"op": op, "path": "/" + name, "value": "x"}), errors.Forbidden)
    assert err.message == "Attribute '%s' is reserved." % name


def test_check_attribute_accepts_ordinary_names():
    for name in ("name", "foo", "os_distro", "glance_x", "locations"):
        patch.check_attribute(name)


@pytest.mark.parametrize("value", [1, True, None, ["a"], {"a": "b"}])
def test_extra_properties_must_be_strings(schemas, value):
    err, _ = apply_error(schemas, image(), v21(
        {"op": "add", "path": "/foo", "value": value}), errors.Invalid)
    assert err.message.startswith("Provided object does not match schema "
                                  "'image': ")


@pytest.mark.parametrize("name,value", [
    ("visibility", "everyone"), ("protected", "yes"), ("min_ram", "1"),
    ("disk_format", "floppy"), ("name", "n" * 256), ("owner", 5)])
def test_base_values_are_validated(schemas, name, value):
    err, _ = apply_error(schemas, image(), v21(
        {"op": "replace", "path": "/" + name, "value": value}),
        errors.Invalid)
    assert "does not match schema 'image'" in err.message


def test_custom_property_name_length(schemas):
    apply(schemas, image(), v21({"op": "add", "path": "/" + "k" * 255,
                                 "value": "v"}))
    err, _ = apply_error(schemas, image(), v21(
        {"op": "add", "path": "/" + "k" * 256, "value": "v"}),
        errors.Invalid)
    assert err.message == ("Custom property should not be greater than 255 "
                           "characters.")


@pytest.mark.parametrize("name", ["min_ram", "min_disk"])
def test_negative_minimums(schemas, name):
    err, _ = apply_error(schemas, image(), v21(
        {"op": "replace", "path": "/" + name, "value": -1}), errors.Invalid)
    assert err.message == ("Invalid value '-1' for parameter '%s': Cannot "
                           "be a negative value" % name)


@pytest.mark.parametrize("status", ["queued", "importing"])
def test_formats_change_while_queued_or_importing(schemas, status):
    art = apply(schemas, image(status=status), v21(
        {"op": "replace", "path": "/disk_format", "value": "qcow2"}))
    assert art["properties"]["disk_format"] == "qcow2"


@pytest.mark.parametrize("name", ["disk_format", "container_format"])
@pytest.mark.parametrize("status", ["active", "saving", "deactivated"])
def test_formats_are_fixed_after_upload(schemas, name, status):
    art = image(status=status)
    art["properties"].update(disk_format="raw", container_format="bare")
    value = "qcow2" if name == "disk_format" else "ovf"
    err, _ = apply_error(schemas, art, v21(
        {"op": "replace", "path": "/" + name, "value": value}),
        errors.Forbidden)
    assert err.message == ("Attribute %s can be only replaced for a queued "
                           "image." % name)
    assert not getattr(err, "detail_form", False)   # explanation=
    # Even the value the image already has (Glance's setter refuses any
    # assignment once the image left queued/importing).
    same = "raw" if name == "disk_format" else "bare"
    apply_error(schemas, art, v21({"op": "replace", "path": "/" + name,
                                   "value": same}), errors.Forbidden)


LOCATION = {"url": "file:///x", "metadata": {}}


@pytest.mark.parametrize("op,path,value,verb", [
    ("add", "/locations/-", LOCATION, "add"),
    ("remove", "/locations/0", None, "remove"),
    ("replace", "/locations", [LOCATION], "update")])
def test_locations_are_forbidden_while_invisible(schemas, op, path, value,
                                                 verb):
    err, _ = apply_error(schemas, image(), v21(
        {"op": op, "path": path, "value": value}), errors.Forbidden)
    assert err.message == ("It's not allowed to %s locations if locations "
                           "are invisible." % verb)
    assert not getattr(err, "detail_form", False)


@pytest.mark.parametrize("visible", [False, True])
def test_locations_cannot_be_emptied(schemas, visible):
    err, _ = apply_error(schemas, image(), v21(
        {"op": "replace", "path": "/locations", "value": []}),
        errors.Forbidden,
        settings=Settings(show_multiple_locations=visible))
    assert err.message == "Cannot set locations to empty list."
    assert err.detail_form is True


def test_a_location_no_store_takes_is_invalid(schemas):
    """Without the engine's stores no URL can be resolved: Glance's 400
    'Invalid location' (glance_compat/locations.py has the rules)."""
    art = image()
    art["properties"].update(disk_format="raw", container_format="bare")
    err, _ = apply_error(schemas, art, v21(
        {"op": "add", "path": "/locations/-",
         "value": {"url": "file:///x", "metadata": {}}}), errors.Invalid,
        settings=Settings(show_multiple_locations=True))
    assert err.message == "Invalid location"


def test_location_pointers_keep_their_index():
    assert v21({"op": "add", "path": "/locations/-", "value": {}},
               {"op": "remove", "path": "/locations/3"},
               {"op": "replace", "path": "/locations", "value": []}) == [
        Change("add", "locations", {}, "-"),
        Change("remove", "locations", None, "3"),
        Change("replace", "locations", [])]


def test_changes_apply_in_order(schemas):
    art = apply(schemas, image(), v21(
        {"op": "add", "path": "/k", "value": "1"},
        {"op": "replace", "path": "/k", "value": "2"},
        {"op": "remove", "path": "/k"},
        {"op": "add", "path": "/k", "value": "3"}))
    assert art["properties"]["k"] == "3"


# How Glance hands each message to WebOb decides the error body: as the
# ``explanation`` (replacing the generic text) or positionally as ``detail``
# (after it); glance_compat.errors renders ``detail_form`` errors the second
# way.

def detail_form(err):
    return bool(getattr(err, "detail_form", False))


def test_helpers_mark_detail_form():
    assert patch.forbidden("x").detail_form is True
    assert patch.conflict("x").detail_form is True


@pytest.mark.parametrize("op,path,kind,detail", [
    # HTTPForbidden(explanation=...) in the PATCH deserializer.
    ("replace", "/status", errors.Forbidden, False),
    ("replace", "/os_glance_x", errors.Forbidden, False),
    ("add", "/deleted", errors.Forbidden, False),
    # HTTPForbidden(msg) / HTTPConflict(msg) in the controller.
    ("remove", "/name", errors.Forbidden, True),
    ("remove", "/nope", errors.Conflict, True),
    ("replace", "/nope", errors.Conflict, True),
])
def test_patch_error_rendering_form(schemas, op, path, kind, detail):
    err, _ = apply_error(schemas, image(), v21(
        {"op": op, "path": path, "value": "x"}), kind)
    assert detail_form(err) is detail


def test_v20_conflict_is_a_detail(schemas):
    err, _ = apply_error(schemas, image(), v20(
        {"add": "/foo", "value": "x"}), errors.Conflict, MEDIA_V20)
    assert detail_form(err)


def test_create_rendering_form():
    # At create, read-only attributes are refused with explanation=, the
    # deserializer's reserved ones positionally.
    with pytest.raises(errors.Forbidden) as exc:
        patch.check_attribute("status")
    assert not detail_form(exc.value)
    with pytest.raises(errors.Forbidden) as exc:
        patch.check_attribute("os_glance_x")
    assert detail_form(exc.value)
