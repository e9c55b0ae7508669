"""The /v2/schemas documents: the shape glanceclient, warlock and Nova need,
Glance's definitions of every property, and image validation."""

import json

import flask
import glanceclient.v2.schemas
import pytest
import warlock

from artifacts import errors
from glance_compat import schemas
from glare import config
from glare.config import ConfigError

UUID = "56c2f4f0-cb7a-43ec-a63f-b58ce41ed179"
UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")

# Glance's base properties (glance-v2-surface.md §3.3), without the
# descriptions, in the order Glance serves them.
GLANCE_BASE = {
    "id": {"type": "string", "pattern": UUID_PATTERN},
    "name": {"type": ["null", "string"], "maxLength": 255},
    "status": {"type": "string", "readOnly": True, "enum": [
        "queued", "saving", "active", "killed", "deleted", "uploading",
        "importing", "pending_delete", "deactivated"]},
    "visibility": {"type": "string",
                   "enum": ["community", "public", "private", "shared"]},
    "protected": {"type": "boolean"},
    "os_hidden": {"type": "boolean"},
    "checksum": {"type": ["null", "string"], "readOnly": True,
                 "maxLength": 32},
    "os_hash_algo": {"type": ["null", "string"], "readOnly": True,
                     "maxLength": 64},
    "os_hash_value": {"type": ["null", "string"], "readOnly": True,
                      "maxLength": 128},
    "owner": {"type": ["null", "string"], "maxLength": 255},
    "size": {"type": ["null", "integer"], "readOnly": True},
    "virtual_size": {"type": ["null", "integer"], "readOnly": True},
    "container_format": {"type": ["null", "string"], "enum": [
        None, "ami", "ari", "aki", "bare", "ovf", "ova", "docker",
        "compressed"]},
    "disk_format": {"type": ["null", "string"], "enum": [
        None, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2",
        "vdi", "iso", "ploop"]},
    "created_at": {"type": "string", "readOnly": True},
    "updated_at": {"type": "string", "readOnly": True},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
    "direct_url": {"type": "string", "readOnly": True},
    "min_ram": {"type": "integer"},
    "min_disk": {"type": "integer"},
    "self": {"type": "string", "readOnly": True},
    "file": {"type": "string", "readOnly": True},
    "stores": {"type": "string", "readOnly": True},
    "schema": {"type": "string", "readOnly": True},
    "locations": {"type": "array", "items": {
        "type": "object", "required": ["url", "metadata"], "properties": {
            "url": {"type": "string", "maxLength": 255},
            "metadata": {"type": "object"},
            "validation_data": {
                "type": "object", "writeOnly": True,
                "additionalProperties": False,
                "required": ["os_hash_algo", "os_hash_value"],
                "properties": {
                    "checksum": {"type": "string", "minLength": 32,
                                 "maxLength": 32},
                    "os_hash_algo": {"type": "string", "maxLength": 64},
                    "os_hash_value": {"type": "string",
                                      "maxLength": 128}}}}}},
}

GLANCE_CUSTOM = {
    "kernel_id": {"type": ["null", "string"], "pattern": UUID_PATTERN},
    "ramdisk_id": {"type": ["null", "string"], "pattern": UUID_PATTERN},
    "instance_uuid": {"type": "string"},
    "architecture": {"type": "string"},
    "os_distro": {"type": "string"},
    "os_version": {"type": "string"},
    "description": {"type": "string"},
    "cinder_encryption_key_id": {"type": "string"},
    "cinder_encryption_key_deletion_policy": {
        "type": "string", "enum": ["on_image_deletion", "do_not_delete"]},
}

# A typical GET /v2/images/{id} body (surface §3.1) plus Nova-style extras.
IMAGE_BODY = {
    "foo": "bar", "hw_disk_bus": "scsi", "image_type": "snapshot",
    "kernel_id": None, "os_distro": "ubuntu",
    "name": "img1", "disk_format": "raw", "container_format": "bare",
    "visibility": "shared", "size": 10, "virtual_size": None,
    "status": "queued", "checksum": None, "protected": False,
    "min_ram": 0, "min_disk": 0, "owner": "3162740f6996",
    "os_hidden": False, "os_hash_algo": None, "os_hash_value": None,
    "id": UUID, "created_at": "2026-11-25T12:59:08Z",
    "updated_at": "2026-11-25T12:59:08Z", "tags": ["t2", "t1"],
    "self": "/v2/images/" + UUID, "file": "/v2/images/%s/file" % UUID,
    "schema": "/v2/schemas/image",
}


def strip_descriptions(fragment):
    if isinstance(fragment, dict):
        return {k: strip_descriptions(v) for k, v in fragment.items()
                if k != "description"}
    if isinstance(fragment, list):
        return [strip_descriptions(v) for v in fragment]
    return fragment


def make_conf(**overrides):
    return config.load(overrides=overrides)


@pytest.fixture(scope="module")
def sset():
    return schemas.SchemaSet(make_conf())


def write_json(tmp_path, doc, name="schema-image.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


# --- image schema shape ----------------------------------------------------

def test_image_top_level_is_glance_raw_permissive(sset):
    assert list(sset.image) == ["name", "properties", "additionalProperties",
                                "links"]
    assert sset.image["name"] == "image"
    assert "required" not in sset.image
    assert sset.image["additionalProperties"] == {"type": "string"}
    assert sset.image["links"] == [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"}]


def test_base_properties_match_glance(sset):
    props = sset.image["properties"]
    base = [k for k in props if k not in GLANCE_CUSTOM]
    assert base == list(GLANCE_BASE)
    for name, expected in GLANCE_BASE.items():
        assert strip_descriptions(props[name]) == expected, name
        assert "is_base" not in props[name]
        assert props[name].get("description"), name
    assert sset.base_property_names == frozenset(GLANCE_BASE)


def test_custom_properties_follow_locations_marked_not_base(sset):
    names = list(sset.image["properties"])
    assert names[names.index("locations") + 1:] == list(GLANCE_CUSTOM)
    for name, expected in GLANCE_CUSTOM.items():
        fragment = strip_descriptions(sset.image["properties"][name])
        assert fragment == dict(expected, is_base=False), name
    assert sset.custom_property_names == frozenset(GLANCE_CUSTOM)


def test_glanceclient_splits_base_from_custom(sset):
    schema = glanceclient.v2.schemas.Schema(json.loads(sset.json["image"]))
    assert schema.is_base_property("min_ram")
    assert schema.is_core_property("kernel_id")
    assert not schema.is_base_property("kernel_id")
    assert not schema.is_core_property("hw_disk_bus")


def test_format_enums_come_from_config():
    conf = make_conf(**{"image_format.disk_formats": ["raw", "qcow2"],
                        "image_format.container_formats": ["bare"]})
    props = schemas.SchemaSet(conf).image["properties"]
    assert props["disk_format"]["enum"] == [None, "raw", "qcow2"]
    assert props["container_format"]["enum"] == [None, "bare"]


def test_shipped_json_files_carry_no_comment_key(sset):
    for name in schemas.NAMES:
        assert b"$comment" not in sset.json[name]


# --- warlock / glanceclient models ------------------------------------------

def glanceclient_model(sset):
    # What glanceclient's images controller builds from the served schema.
    return warlock.model_factory(
        json.loads(sset.json["image"]),
        base_class=glanceclient.v2.schemas.SchemaBasedModel)


def test_warlock_empty_model_and_typical_body(sset):
    model = glanceclient_model(sset)
    model()  # glanceclient's images.create starts from an empty model
    body = dict(IMAGE_BODY)
    body.pop("self")  # glanceclient drops it before building the model
    image = model(**body)
    image.name = "renamed"
    image.hw_cpu_policy = "dedicated"
    image.kernel_id = UUID
    for attr, bad in [("min_ram", None), ("protected", "yes"),
                      ("visibility", "secret"), ("disk_format", "vmdk2"),
                      ("extra", 1), ("kernel_id", "abc")]:
        with pytest.raises(warlock.InvalidOperation):
            setattr(image, attr, bad)


def test_glanceclient_patch_uses_is_base(sset):
    body = {"id": UUID, "name": "a", "min_ram": 0, "tags": [],
            "os_distro": "ubuntu"}
    image = glanceclient_model(sset)(**body)
    image.name = "b"
    image.architecture = "x86_64"  # custom: add, not replace
    del image["os_distro"]
    ops = {(op["op"], op["path"]) for op in json.loads(image.patch)}
    assert ("replace", "/name") in ops
    assert ("add", "/architecture") in ops
    assert ("remove", "/os_distro") in ops


def test_warlock_member_model(sset):
    model = warlock.model_factory(json.loads(sset.json["member"]))
    model(member_id="proj", image_id=UUID, status="pending",
          created_at="2026-11-25T12:59:09Z", updated_at="2026-11-25T12:59:09Z",
          schema="/v2/schemas/member")
    with pytest.raises(ValueError):
        model(member_id="proj", image_id=UUID, status="maybe")


# --- member(s) and images ---------------------------------------------------

def test_member_schema_is_glance_minimal(sset):
    # Glance serves Schema.minimal(): no additionalProperties, no links.
    assert list(sset.member) == ["name", "properties"]
    assert sset.member["name"] == "member"
    props = sset.member["properties"]
    assert list(props) == ["member_id", "image_id", "created_at",
                           "updated_at", "status", "schema"]
    assert strip_descriptions(props) == {
        "member_id": {"type": "string"},
        "image_id": {"type": "string", "pattern": UUID_PATTERN},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "status": {"type": "string",
                   "enum": ["pending", "accepted", "rejected"]},
        "schema": {"readOnly": True, "type": "string"},
    }


def test_members_collection_is_minimal_and_embeds_member(sset):
    assert sset.members == {
        "name": "members",
        "properties": {"members": {"type": "array", "items": sset.member},
                       "schema": {"type": "string"}},
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }


def test_images_collection_is_raw_and_embeds_image(sset):
    assert sset.images == {
        "name": "images",
        "properties": {"images": {"type": "array", "items": sset.image},
                       "first": {"type": "string"},
                       "next": {"type": "string"},
                       "schema": {"type": "string"}},
        "links": [{"rel": "first", "href": "{first}"},
                  {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }
    assert list(sset.images) == ["name", "properties", "links"]


def test_json_bytes_are_glance_serialisation(sset):
    for name in schemas.NAMES:
        assert sset.json[name] == json.dumps(getattr(sset, name)).encode()
    assert sset.json["member"].startswith(
        b'{"name": "member", "properties": {"member_id": {"type": "string"')


# --- validation -------------------------------------------------------------

@pytest.mark.parametrize("props", [
    {}, {"kernel_id": None}, {"kernel_id": UUID}, {"name": None},
    {"foo": "bar"}, {"disk_format": None}, {"disk_format": "qcow2"},
    {"cinder_encryption_key_deletion_policy": "do_not_delete"},
    {"tags": ["a", "b"]}, {"min_ram": 0},
    {"locations": [{"url": "file:///x", "metadata": {}}]},
])
def test_validate_accepts(sset, props):
    sset.validate_image(props)


@pytest.mark.parametrize("props, message", [
    ({"kernel_id": "abc"}, "'abc' does not match"),
    ({"os_distro": None}, "None is not of type 'string'"),
    ({"foo": None}, "None is not of type 'string'"),
    ({"foo": 1}, "1 is not of type 'string'"),
    ({"foo": True}, "True is not of type 'string'"),
    ({"cinder_encryption_key_deletion_policy": "x"}, "'x' is not one of"),
    ({"disk_format": "floppy"}, "'floppy' is not one of"),
    ({"visibility": "secret"}, "'secret' is not one of"),
    ({"min_ram": "1"}, "'1' is not of type 'integer'"),
    ({"name": "x" * 256}, "is too long"),
    ({"tags": ["x" * 256]}, "is too long"),
    ({"protected": "true"}, "'true' is not of type 'boolean'"),
    ({"locations": [{"url": "file:///x"}]}, "'metadata' is a required"),
])
def test_validate_rejects_with_glance_text(sset, props, message):
    with pytest.raises(errors.Invalid) as info:
        sset.validate_image(props)
    text = info.value.message
    assert text.startswith("Provided object does not match schema 'image': ")
    assert message in text
    assert info.value.status == 400


def test_validate_checks_configured_formats():
    conf = make_conf(**{"image_format.disk_formats": ["raw"]})
    sset = schemas.SchemaSet(conf)
    sset.validate_image({"disk_format": "raw"})
    with pytest.raises(errors.Invalid):
        sset.validate_image({"disk_format": "qcow2"})


# --- operator's schema-image.json -------------------------------------------

def test_flat_custom_file(tmp_path):
    path = write_json(tmp_path, {"hw_rng": {"type": "string",
                                            "enum": ["yes", "no"]}})
    sset = schemas.SchemaSet(make_conf(**{"glare.schema_image_file": path}))
    assert list(sset.image["properties"])[-1] == "hw_rng"
    assert sset.image["properties"]["hw_rng"]["is_base"] is False
    assert sset.custom_property_names == {"hw_rng"}
    assert "kernel_id" not in sset.image["properties"]
    sset.validate_image({"kernel_id": "abc"})  # now just an extra string
    with pytest.raises(errors.Invalid):
        sset.validate_image({"hw_rng": "maybe"})


def test_extended_custom_file_with_required(tmp_path):
    path = write_json(tmp_path, {
        "properties": {"os_distro": {"type": "string"},
                       "architecture": {"type": "string"}},
        "required": ["os_distro"]})
    sset = schemas.SchemaSet(make_conf(**{"glare.schema_image_file": path}))
    assert list(sset.image) == ["name", "properties", "additionalProperties",
                                "required", "links"]
    assert sset.image["required"] == ["os_distro"]
    assert sset.images["properties"]["images"]["items"]["required"] == [
        "os_distro"]
    with pytest.raises(errors.Invalid) as info:
        sset.validate_image({"name": "x"})
    assert "'os_distro' is a required property" in info.value.message
    sset.validate_image({"name": "x"}, check_required=False)
    sset.validate_image({"name": "x", "os_distro": "debian"})


def test_extended_custom_file_empty_required_is_absent(tmp_path):
    path = write_json(tmp_path, {"properties": {"a": {"type": "string"}},
                                 "required": []})
    sset = schemas.SchemaSet(make_conf(**{"glare.schema_image_file": path}))
    assert "required" not in sset.image


@pytest.mark.parametrize("doc, fragment", [
    ({"name": {"type": "string"}}, "conflict with base properties"),
    ({"x": "string"}, "must map to a JSON schema object"),
    (["x"], "must contain a JSON object"),
    ({"x": {"type": "strnig"}}, "valid JSON schema"),
    ({"properties": {}, "required": "x"}, "'required' must be a list"),
])
def test_bad_custom_file_fails_at_start(tmp_path, doc, fragment):
    path = write_json(tmp_path, doc)
    with pytest.raises(ConfigError) as info:
        schemas.SchemaSet(make_conf(**{"glare.schema_image_file": path}))
    assert fragment in str(info.value)


def test_missing_or_unparsable_custom_file_fails_at_start(tmp_path):
    conf = make_conf(**{"glare.schema_image_file": str(tmp_path / "no")})
    with pytest.raises(ConfigError, match="does not exist"):
        schemas.SchemaSet(conf)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    conf = make_conf(**{"glare.schema_image_file": str(bad)})
    with pytest.raises(ConfigError, match="not valid JSON"):
        schemas.SchemaSet(conf)


# --- HTTP -------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    app = flask.Flask("test_schemas")

    @app.errorhandler(errors.ArtifactError)
    def render(exc):  # stands in for the app factory's renderer
        return flask.Response(exc.message, status=exc.status,
                              headers=exc.headers, content_type="text/plain")

    schemas.init_app(app, make_conf())
    schemas.init_app(app, make_conf())  # idempotent blueprint registration
    return app.test_client()


@pytest.mark.parametrize("name", schemas.NAMES)
def test_get_schema(client, name):
    resp = client.get("/v2/schemas/" + name)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    with client.application.app_context():
        assert resp.data == schemas.get_schemas().json[name]
    assert resp.get_json()["name"] == name


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE",
                                    "HEAD", "OPTIONS"])
def test_other_methods_are_405_allow_get(client, method):
    resp = client.open("/v2/schemas/image", method=method)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET"


def test_body_is_rejected(client):
    resp = client.get("/v2/schemas/image", data=b"{}")
    assert resp.status_code == 400
    assert b"A body is not expected" in resp.data


@pytest.mark.parametrize("path", ["/v2/schemas/taskx", "/v2/schemas/imagex",
                                  "/v2/schemas/image/"])
def test_unknown_schema_is_404(client, path):
    assert client.get(path).status_code == 404


def test_task_schemas_are_glances(sset):
    """Glance 33's /v2/schemas/task and /tasks: minimal documents; the
    collection's items drop input, result and message."""
    assert list(sset.task) == ["name", "properties"]
    assert list(sset.task["properties"]) == [
        "id", "type", "status", "input", "result", "owner", "message",
        "image_id", "request_id", "user_id", "expires_at", "created_at",
        "updated_at", "self", "schema"]
    assert sset.task["properties"]["type"]["enum"] == [
        "import", "api_image_import", "location_import"]
    item = sset.tasks["properties"]["tasks"]["items"]
    assert set(sset.task["properties"]) - set(item["properties"]) == {
        "input", "result", "message"}
    assert sset.tasks["links"] == [{"rel": "describedby",
                                    "href": "{schema}"}]


def test_task_bodies_are_validated_with_glances_words(sset):
    sset.validate_task({"type": "import", "input": {}})
    for body, words in (({"type": "bogus", "input": {}}, "'bogus' is not "
                         "one of"), ({"type": "import", "input": "x"},
                                     "is not of type"),
                        ({"type": "import", "input": {}, "x": 1},
                         "Additional properties are not allowed")):
        with pytest.raises(errors.Invalid) as exc:
            sset.validate_task(body)
        assert exc.value.message.startswith(
            "Provided object does not match schema 'task': ")
        assert words in exc.value.message

