"""JSON schemas under /v2/schemas: what glanceclient and Nova read.

Descriptions are prose, so they are not compared; names, types, enums,
patterns, lengths, readOnly flags and structure are.
"""

import jsonschema
import pytest

from conformance.client import unique

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")
NULL_STR = ["null", "string"]

# Base attributes of the image schema, in Glance's order, without the
# descriptions.
IMAGE_BASE = [
    ("id", {"type": "string", "pattern": UUID_PATTERN}),
    ("name", {"type": NULL_STR, "maxLength": 255}),
    ("status", {"type": "string", "readOnly": True, "enum": [
        "queued", "saving", "active", "killed", "deleted", "uploading",
        "importing", "pending_delete", "deactivated"]}),
    ("visibility", {"type": "string", "enum": ["community", "public",
                                               "private", "shared"]}),
    ("protected", {"type": "boolean"}),
    ("os_hidden", {"type": "boolean"}),
    ("checksum", {"type": NULL_STR, "readOnly": True, "maxLength": 32}),
    ("os_hash_algo", {"type": NULL_STR, "readOnly": True, "maxLength": 64}),
    ("os_hash_value", {"type": NULL_STR, "readOnly": True,
                       "maxLength": 128}),
    ("owner", {"type": NULL_STR, "maxLength": 255}),
    ("size", {"type": ["null", "integer"], "readOnly": True}),
    ("virtual_size", {"type": ["null", "integer"], "readOnly": True}),
    ("container_format", {"type": NULL_STR}),
    ("disk_format", {"type": NULL_STR}),
    ("created_at", {"type": "string", "readOnly": True}),
    ("updated_at", {"type": "string", "readOnly": True}),
    ("tags", {"type": "array", "items": {"type": "string",
                                         "maxLength": 255}}),
    ("direct_url", {"type": "string", "readOnly": True}),
    ("min_ram", {"type": "integer"}),
    ("min_disk", {"type": "integer"}),
    ("self", {"type": "string", "readOnly": True}),
    ("file", {"type": "string", "readOnly": True}),
    ("stores", {"type": "string", "readOnly": True}),
    ("schema", {"type": "string", "readOnly": True}),
    ("locations", {"type": "array"}),
]


def _strip(fragment):
    """The fragment without prose (descriptions at any depth)."""
    if isinstance(fragment, dict):
        return {k: _strip(v) for k, v in fragment.items()
                if k != "description"}
    if isinstance(fragment, list):
        return [_strip(v) for v in fragment]
    return fragment


def _schema(client, name):
    resp = client.get("/v2/schemas/" + name)
    assert resp.status_code == 200, (name, resp.status_code)
    assert resp.headers["Content-Type"].startswith("application/json")
    return resp.json()


def _needs(discovery, version, what):
    if version not in discovery["versions"]:
        pytest.skip("%s needs %s, which the endpoint does not advertise"
                    % (what, version))


# ------------------------------------------------------------------ image


def test_image_schema_top_level(member):
    """Glance: /v2/schemas/image is {"name": "image", "properties",
    "additionalProperties": {"type": "string"}, "links"} and has no
    top-level "required" (glanceclient validates an empty model with it)."""
    schema = _schema(member, "image")
    assert schema["name"] == "image"
    assert schema["additionalProperties"] == {"type": "string"}
    assert "required" not in schema
    assert schema["links"] == [{"rel": "self", "href": "{self}"},
                               {"rel": "enclosure", "href": "{file}"},
                               {"rel": "describedby", "href": "{schema}"}]


def test_image_schema_base_properties(member):
    """Glance: the base attributes come first, in Glance's order, with
    Glance's types, enums, patterns, lengths and readOnly flags."""
    props = _schema(member, "image")["properties"]
    names = list(props)
    assert names[:len(IMAGE_BASE)] == [n for n, _ in IMAGE_BASE]
    for name, expected in IMAGE_BASE:
        got = _strip(props[name])
        for key, value in expected.items():
            assert got.get(key) == value, (name, key, got)


def test_image_schema_format_enums(member):
    """Glance: disk_format/container_format enums start with null and list
    the deployment's formats (defaults shown here must all be present)."""
    props = _schema(member, "image")["properties"]
    disk = props["disk_format"]["enum"]
    container = props["container_format"]["enum"]
    assert disk[0] is None and container[0] is None
    assert {"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2",
            "vdi", "iso"} <= set(disk)
    assert {"ami", "ari", "aki", "bare", "ovf", "ova"} <= set(container)


def test_image_schema_locations_item(member):
    """Glance: locations items are objects with required url and metadata
    and a write-only validation_data (os_hash_algo, os_hash_value
    required)."""
    items = _strip(_schema(member, "image")["properties"]["locations"]
                   ["items"])
    assert items["type"] == "object"
    assert items["required"] == ["url", "metadata"]
    assert items["properties"]["url"] == {"type": "string", "maxLength": 255}
    assert items["properties"]["metadata"] == {"type": "object"}
    vd = items["properties"]["validation_data"]
    assert vd["writeOnly"] is True and vd["additionalProperties"] is False
    assert vd["required"] == ["os_hash_algo", "os_hash_value"]
    assert vd["properties"]["checksum"] == {"type": "string",
                                            "minLength": 32,
                                            "maxLength": 32}


def test_custom_properties_are_not_base(member):
    """Glance: properties from schema-image.json come after the base ones,
    each marked "is_base": false (Nova and glanceclient split base from
    custom properties with it)."""
    props = _schema(member, "image")["properties"]
    base = {n for n, _ in IMAGE_BASE}
    custom = [n for n in props if n not in base]
    for name in custom:
        assert props[name].get("is_base") is False, name
    for name in base:
        assert "is_base" not in props[name], name


def test_image_record_validates_against_schema(member):
    """Glance: every image record validates against the image schema
    (glanceclient's warlock models check this on create and update)."""
    schema = _schema(member, "image")
    image = member.create_active(b"data", foo="bar", tags=["t"])
    jsonschema.validate(image, schema)
    jsonschema.validate(member.create_image(), schema)


def test_images_schema(member):
    """Glance: /v2/schemas/images wraps the image schema: images (array of
    image), first, next, schema strings and links first/next/describedby
    (Tempest test_get_images_schema)."""
    schema = _schema(member, "images")
    assert schema["name"] == "images"
    props = schema["properties"]
    assert set(props) == {"images", "first", "next", "schema"}
    assert props["images"]["type"] == "array"
    assert _strip(props["images"]["items"]) == \
        _strip(_schema(member, "image"))
    for key in ("first", "next", "schema"):
        assert props[key] == {"type": "string"}
    assert schema["links"] == [{"rel": "first", "href": "{first}"},
                               {"rel": "next", "href": "{next}"},
                               {"rel": "describedby", "href": "{schema}"}]


def test_image_list_validates_against_schema(member):
    """Glance: a list body validates against /v2/schemas/images."""
    schema = _schema(member, "images")
    tag = unique("sch")
    member.create_image(tags=[tag])
    body = member.get("/v2/images", params={"tag": tag}).json()
    jsonschema.validate(body, schema)


# ----------------------------------------------------------------- member


def test_member_schema(member):
    """Glance: /v2/schemas/member is minimal ({"name", "properties"} only)
    with member_id, image_id, created_at, updated_at, status (enum) and
    schema (Tempest test_get_image_member_schema)."""
    schema = _schema(member, "member")
    assert set(schema) == {"name", "properties"}
    assert schema["name"] == "member"
    props = _strip(schema["properties"])
    assert set(props) == {"member_id", "image_id", "created_at",
                          "updated_at", "status", "schema"}
    assert props["status"]["enum"] == ["pending", "accepted", "rejected"]
    assert props["image_id"]["pattern"] == UUID_PATTERN


def test_members_schema(member):
    """Glance: /v2/schemas/members is {"name": "members", "properties":
    {"members": array of member, "schema"}, "links": [describedby]}
    (Tempest test_get_image_members_schema)."""
    schema = _schema(member, "members")
    assert schema["name"] == "members"
    props = schema["properties"]
    assert set(props) == {"members", "schema"}
    assert _strip(props["members"]["items"]) == \
        _strip(_schema(member, "member"))
    assert schema["links"] == [{"rel": "describedby", "href": "{schema}"}]


def test_member_record_validates_against_schema(member, member_b):
    """Glance: member bodies validate against the member schema, which
    glanceclient enforces on every member call."""
    schema = dict(_schema(member, "member"), additionalProperties=False)
    image = member.create_image()
    body = member.post("/v2/images/%s/members" % image["id"],
                       json={"member": member_b.project_id}).json()
    jsonschema.validate(body, schema)


# ----------------------------------------------------------------- access


def test_schemas_readable_by_reader(reader):
    """Glance: schemas need no particular role (glanceclient fetches them
    before every call)."""
    for name in ("image", "images", "member", "members"):
        assert reader.get("/v2/schemas/" + name).status_code == 200


def test_unknown_schema_is_404(member):
    """Glance: an unknown schema name is 404."""
    assert member.get("/v2/schemas/nothing").status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_schema_other_methods_are_405(member, method):
    """Glance: schemas are GET only: 405 with Allow: GET."""
    resp = member.request(method, "/v2/schemas/image")
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET"


# ------------------------------------------------- tasks and metadefs (2.2)


@pytest.mark.parametrize("name", ["task", "tasks"])
def test_task_schemas(member, discovery, name):
    """Glance (v2.2, tasks): /v2/schemas/task and /tasks exist, named
    'task' and 'tasks'."""
    _needs(discovery, "v2.2", "the tasks API")
    assert _schema(member, name)["name"] == name


@pytest.mark.parametrize("path,name", [
    ("namespace", "namespace"), ("namespaces", "namespaces"),
    ("resource_type", "resource_type_association"),
    ("resource_types", "resource_type_associations"),
    ("object", "object"), ("objects", "objects"),
    ("property", "property"), ("properties", "properties"),
    ("tag", "tag"), ("tags", "tags")])
def test_metadef_schemas(member, discovery, path, name):
    """Glance (v2.2, metadefs): /v2/schemas/metadefs/<x> exist with these
    names (Tempest MetadataSchemaTest)."""
    _needs(discovery, "v2.2", "the metadata definitions API")
    assert _schema(member, "metadefs/" + path)["name"] == name
