"""Metadata definitions: namespaces, schemas, visibility, policy and
protection (``/v2/metadefs/namespaces``, ``/v2/schemas/metadefs/*``).

Objects, properties, tags and resource types are in
test_metadefs_contents.py.  Namespaces are made by the admin of project A
(Glance's defaults let only administrators change definitions).
"""

import pytest

from conformance.metadef_helpers import (NAMESPACES, NO_ACCEPT, TIME,
                                         expect, fresh, message, namespaces,
                                         ns_path)

__all__ = ["namespaces"]

NS_KEYS = ["namespace", "display_name", "description", "visibility",
           "protected", "owner", "created_at", "updated_at",
           "resource_type_associations", "properties", "objects", "tags",
           "self", "schema"]

FULL = {
    "display_name": "Conformance", "description": "d", "protected": True,
    "properties": {"p1": {"title": "P1", "type": "integer", "minimum": 1,
                          "maximum": 5, "default": 3, "enum": ["1", "2"]},
                   "p2": {"title": "P2", "type": "boolean", "default": True,
                          "readonly": True, "operators": ["<or>"]}},
    "objects": [{"name": "o1", "required": ["a"], "properties": {
        "a": {"type": "string", "title": "A", "enum": ["x", "y"]}}}],
    "tags": [{"name": "t1"}],
    "resource_type_associations": [{"name": "OS::Glance::Image",
                                    "prefix": "hw_"}],
}


def _ordered(doc, keys):
    return [k for k in keys if k in doc] == list(doc)


# ------------------------------------------------------------------ schemas

SCHEMA_NAMES = {"namespace": "namespace", "namespaces": "namespaces",
                "object": "object", "objects": "objects",
                "property": "property", "properties": "properties",
                "tag": "tag", "tags": "tags",
                "resource_type": "resource_type_association",
                "resource_types": "resource_type_associations"}


@pytest.mark.parametrize("path", sorted(SCHEMA_NAMES))
def test_metadef_schema_documents(reader, path):
    """Glance: every /v2/schemas/metadefs/* document is served to a reader
    with its name; single documents forbid other keys, collections link
    first/next/describedby."""
    resp = reader.get("/v2/schemas/metadefs/" + path)
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["name"] == SCHEMA_NAMES[path]
    if path.endswith("s") and path != "properties" or path == "properties":
        assert [link["rel"] for link in doc["links"]] == [
            "first", "next", "describedby"]
    else:
        assert doc["additionalProperties"] is False


def test_metadef_namespace_schema_shape(reader):
    """Glance: the namespace document's properties, in order, and
    ``namespace`` required; ``property`` needs type, title and name and
    its stringArray at least one item, the namespace's does not."""
    ns = reader.get("/v2/schemas/metadefs/namespace").json()
    assert list(ns["properties"]) == [
        "namespace", "display_name", "description", "visibility",
        "protected", "owner", "created_at", "updated_at", "schema", "self",
        "resource_type_associations", "properties", "objects", "tags"]
    assert ns["required"] == ["namespace"]
    assert ns["properties"]["visibility"]["enum"] == ["public", "private"]
    assert "minItems" not in ns["definitions"]["stringArray"]
    prop = reader.get("/v2/schemas/metadefs/property").json()
    assert prop["required"] == ["type", "title", "name"]
    assert prop["definitions"]["stringArray"]["minItems"] == 1


def test_metadef_schema_other_methods(member):
    """Glance: a metadef schema answers only GET (405, Allow: GET)."""
    resp = member.post("/v2/schemas/metadefs/namespace", json={})
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET"


# --------------------------------------------------------------- namespaces


def test_create_namespace_echoes_the_document(admin, namespaces):
    """Glance: 201 with an absolute Location; the body shows what was sent,
    normalised (defaults as strings, attributes in Glance's order), the
    associations and objects without times or links."""
    name = fresh()
    resp = admin.post(NAMESPACES, json=dict(FULL, namespace=name))
    assert resp.status_code == 201, resp.text
    namespaces.names.append(name)
    assert resp.headers["Location"].startswith("http")
    assert resp.headers["Location"].endswith(ns_path(name))
    body = resp.json()
    assert _ordered(body, NS_KEYS)
    assert body["owner"] == admin.project_id
    assert body["visibility"] == "private" and body["protected"] is True
    assert TIME.match(body["created_at"])
    assert body["properties"] == {
        "p1": {"type": "integer", "title": "P1", "default": "3",
               "minimum": 1, "maximum": 5, "enum": ["1", "2"]},
        "p2": {"type": "boolean", "title": "P2", "operators": ["<or>"],
               "default": "True", "readonly": True}}
    assert list(body["properties"]["p1"]) == [
        "type", "title", "default", "minimum", "maximum", "enum"]
    assert body["objects"] == FULL["objects"]
    assert body["resource_type_associations"] == [
        {"name": "OS::Glance::Image", "prefix": "hw_"}]
    assert body["tags"] == [{"name": "t1"}]
    assert body["self"] == ns_path(name)
    assert body["schema"] == "/v2/schemas/metadefs/namespace"


def test_show_namespace_with_contents(admin, namespaces):
    """Glance: a namespace shows its associations (with times), properties,
    objects (with times and links, ``required`` and ``properties`` always)
    and tags (names only)."""
    name = namespaces.create(**FULL)["namespace"]
    body = admin.get(ns_path(name)).json()
    assert _ordered(body, NS_KEYS)
    assert [list(a) for a in body["resource_type_associations"]] == [
        ["name", "prefix", "created_at", "updated_at"]]
    obj = body["objects"][0]
    assert list(obj) == ["name", "required", "properties", "created_at",
                         "updated_at", "self", "schema"]
    assert obj["self"] == ns_path(name, "objects", "o1")
    assert obj["schema"] == "/v2/schemas/metadefs/object"
    assert body["tags"] == [{"name": "t1"}]
    assert "description" in body and "display_name" in body


def test_show_namespace_for_a_resource_type(admin, namespaces):
    """Glance: ?resource_type=R shows the properties, object properties and
    required names with R's prefix."""
    name = namespaces.create(**FULL)["namespace"]
    body = admin.get(ns_path(name),
                     params={"resource_type": "OS::Glance::Image"}).json()
    assert sorted(body["properties"]) == ["hw_p1", "hw_p2"]
    assert body["objects"][0]["required"] == ["hw_a"]
    assert list(body["objects"][0]["properties"]) == ["hw_a"]
    plain = admin.get(ns_path(name), params={"resource_type": "Other"})
    assert sorted(plain.json()["properties"]) == ["p1", "p2"]


def test_list_namespaces_pages_and_links(admin, namespaces):
    """Glance: list items carry no properties, objects or tags; ``first``
    repeats the query without marker, ``next`` adds the marker of the
    last item when the page is full; resource_types filters."""
    rtype = "Conf::Type::" + fresh("rt")
    names = sorted(namespaces.create(
        visibility="public", resource_type_associations=[{"name": rtype}],
        tags=[{"name": "x"}])["namespace"] for _ in range(3))
    query = {"resource_types": rtype, "sort_key": "namespace",
             "sort_dir": "asc", "limit": "2"}
    body = admin.get(NAMESPACES, params=query).json()
    assert [n["namespace"] for n in body["namespaces"]] == names[:2]
    assert list(body) == ["namespaces", "next", "schema", "first"]
    item = body["namespaces"][0]
    assert "tags" not in item and "properties" not in item
    assert [a["name"] for a in item["resource_type_associations"]] == [rtype]
    assert body["schema"] == "/v2/schemas/metadefs/namespaces"
    assert body["first"].startswith(NAMESPACES + "?resource_types=")
    assert "marker" not in body["first"]
    assert body["next"].endswith("&marker=" + names[1])
    rest = admin.get(body["next"]).json()
    assert [n["namespace"] for n in rest["namespaces"]] == names[2:]
    assert "next" not in rest


def test_list_namespaces_visibility_filter(admin, namespaces):
    """Glance: visibility=public|private filters the list."""
    rtype = "Conf::Type::" + fresh("rt")
    link = [{"name": rtype}]
    pub = namespaces.create(visibility="public",
                            resource_type_associations=link)["namespace"]
    priv = namespaces.create(resource_type_associations=link)["namespace"]
    for visibility, expected in (("public", [pub]), ("private", [priv])):
        body = admin.get(NAMESPACES, params={
            "resource_types": rtype, "visibility": visibility}).json()
        assert [n["namespace"] for n in body["namespaces"]] == expected


@pytest.mark.parametrize("query, text", [
    ({"limit": "-1"}, "limit param must be positive"),
    ({"sort_dir": "up"}, "Invalid sort direction: up"),
    ({"visibility": "shared"}, "Invalid visibility value: shared"),
])
def test_list_namespaces_bad_query(member, query, text):
    """Glance: these list queries are 400 with its messages."""
    expect(member.get(NAMESPACES, params=query, headers=NO_ACCEPT), 400,
           text)


def test_list_namespaces_unknown_marker(member):
    """Glance: a marker naming no namespace is 404."""
    name = fresh()
    expect(member.get(NAMESPACES, params={"marker": name},
                      headers=NO_ACCEPT), 404,
           "Metadata definition namespace=%s was not found." % name)


@pytest.mark.glance_deviation(
    "Glance answers 500 for a limit that is not a number and for an "
    "unknown sort key")
@pytest.mark.parametrize("query", [{"limit": "abc"}, {"sort_key": "bogus"}])
def test_list_namespaces_unparsable_query(member, query):
    """Correct behaviour: 400."""
    assert member.get(NAMESPACES, params=query).status_code == 400


def test_create_namespace_conflict(admin, namespaces):
    """Glance: a second namespace with the same name is 409."""
    name = namespaces.create()["namespace"]
    resp = namespaces.create(namespace=name, expected=409)
    assert message(resp) == ("The metadata definition namespace=%s already "
                             "exists." % name)


@pytest.mark.parametrize("body, status, start", [
    ({"namespace": "x", "self": "/y"}, 403, "Attribute 'self' is read-only."),
    ({"namespace": "x", "created_at": "y"}, 403,
     "Attribute 'created_at' is read-only."),
    ({"namespace": "x", "visibility": "shared"}, 400,
     "Provided object does not match schema 'namespace': "),
    ({"namespace": "x" * 81}, 400,
     "Provided object does not match schema 'namespace': "),
    ({"display_name": "no namespace"}, 400,
     "Provided object does not match schema 'namespace': "),
    ({"namespace": "x", "properties": {"p": {"type": "string"}}}, 400,
     "Provided object does not match schema 'namespace': "),
])
def test_create_namespace_bad_document(admin, body, status, start):
    """Glance: read-only attributes are 403, a document its schema refuses
    is 400 naming the schema."""
    resp = admin.post(NAMESPACES, json=body, headers=NO_ACCEPT)
    assert resp.status_code == status, resp.text
    assert message(resp).startswith(start)


@pytest.mark.parametrize("data, text", [
    (b"{not json", "Malformed JSON in request body."),
    (b"", "Body expected in request."),
])
def test_create_namespace_not_json(admin, data, text):
    """Glance: a body that is not JSON, or none, is 400."""
    expect(admin.post(NAMESPACES, data=data, headers=dict(
        NO_ACCEPT, **{"Content-Type": "application/json"})), 400, text)


@pytest.mark.glance_deviation(
    "Glance answers 500 for an unknown attribute in a namespace's property "
    "and for enum items that are not strings")
@pytest.mark.parametrize("prop", [
    {"type": "string", "title": "T", "foo": 1},
    {"type": "integer", "title": "T", "enum": [1, 2]},
])
def test_create_namespace_property_glance_cannot_parse(admin, prop):
    """Correct behaviour: 400 saying what is wrong, nothing created."""
    name = fresh()
    resp = admin.post(NAMESPACES, json={"namespace": name,
                                        "properties": {"p": prop}})
    assert resp.status_code == 400
    assert admin.get(ns_path(name)).status_code == 404


@pytest.mark.glance_deviation(
    "Glance truncates a fractional minimum or maximum to an integer")
def test_fractional_minimum_kept(admin, namespaces):
    """Correct behaviour: 1.5 stays 1.5."""
    body = namespaces.create(properties={"p": {
        "type": "number", "title": "T", "minimum": 1.5}})
    assert body["properties"]["p"]["minimum"] == 1.5


def test_update_namespace_replaces_its_fields(admin, namespaces):
    """Glance: PUT replaces the namespace's own fields: a missing
    display_name/description becomes empty, visibility private, protected
    false, owner the caller's project; a rename moves the links."""
    name = namespaces.create(display_name="D", description="d",
                             visibility="public")["namespace"]
    new = fresh()
    resp = admin.put(ns_path(name), json={"namespace": new})
    assert resp.status_code == 200, resp.text
    namespaces.names.append(new)
    body = resp.json()
    assert body["namespace"] == new and body["self"] == ns_path(new)
    assert body["visibility"] == "private" and body["protected"] is False
    assert "display_name" not in body and "description" not in body
    assert body["owner"] == admin.project_id
    assert admin.get(ns_path(name)).status_code == 404
    assert admin.get(ns_path(new)).status_code == 200


def test_update_namespace_rename_conflict(admin, namespaces):
    """Glance: renaming onto an existing namespace is 409."""
    first = namespaces.create()["namespace"]
    second = namespaces.create()["namespace"]
    expect(admin.put(ns_path(second), json={"namespace": first},
                     headers=NO_ACCEPT), 409,
           "Invalid update. It would result in a duplicate metadata "
           "definition namespace with the same name of %s" % first)


def test_update_unknown_namespace(admin):
    """Glance: PUT of a missing namespace is 404 'Namespace x not found'."""
    name = fresh()
    expect(admin.put(ns_path(name), json={"namespace": name},
                     headers=NO_ACCEPT), 404, "Namespace %s not found" % name)


def test_protected_namespace_refuses_deletes(admin, namespaces):
    """Glance: nothing in a protected namespace can be deleted (403 naming
    what was refused); unprotected, it deletes (204) and is gone."""
    name = namespaces.create(**FULL)["namespace"]
    ns_text = ("Metadata definition namespace %s is protected and cannot be "
               "deleted." % name)
    cases = [
        (ns_path(name), ns_text),
        (ns_path(name, "objects"), ns_text),
        (ns_path(name, "properties"), ns_text),
        (ns_path(name, "tags"), ns_text),
        (ns_path(name, "objects", "o1"), "Metadata definition object o1 is "
         "protected and cannot be deleted."),
        (ns_path(name, "properties", "p1"), "Metadata definition property "
         "p1 is protected and cannot be deleted."),
        (ns_path(name, "tags", "t1"), "Metadata definition tag t1 is "
         "protected and cannot be deleted."),
        (ns_path(name, "resource_types", "OS::Glance::Image"),
         "Metadata definition resource-type-association OS::Glance::Image "
         "is protected and cannot be deleted."),
    ]
    for path, text in cases:
        expect(admin.delete(path, headers=NO_ACCEPT), 403, text)
    admin.put(ns_path(name), json={"namespace": name, "protected": False})
    assert admin.delete(ns_path(name)).status_code == 204
    assert admin.get(ns_path(name)).status_code == 404


def test_member_cannot_change_definitions(member, reader, admin, namespaces):
    """Glance's defaults: members and readers read their project's
    namespaces; only administrators create, change or delete them."""
    name = namespaces.create(**FULL)["namespace"]
    for client in (member, reader):
        assert client.get(ns_path(name)).status_code == 200
        assert client.get(NAMESPACES).status_code == 200
    expect(member.post(NAMESPACES, json={"namespace": fresh()},
                       headers=NO_ACCEPT), 403,
           "You are not authorized to complete add_metadef_namespace action.")
    expect(member.put(ns_path(name), json={"namespace": name},
                      headers=NO_ACCEPT), 403,
           "You are not authorized to complete modify_metadef_namespace "
           "action.")
    expect(member.delete(ns_path(name), headers=NO_ACCEPT), 403,
           "You are not authorized to complete delete_metadef_namespace "
           "action.")
    expect(member.post(ns_path(name, "objects"), json={"name": "o9"},
                       headers=NO_ACCEPT), 403,
           "You are not authorized to complete add_metadef_object action.")


PROBES = [("GET", ()), ("GET", ("objects",)), ("GET", ("objects", "o1")),
          ("GET", ("properties",)), ("GET", ("properties", "p1")),
          ("GET", ("tags",)), ("GET", ("tags", "t1")),
          ("GET", ("resource_types",)), ("DELETE", ()),
          ("DELETE", ("tags", "t1")), ("POST", ("tags", "t9"))]


def test_private_namespace_hidden_from_other_projects(member_b, namespaces):
    """Glance: another project's private namespace is 404 on every route
    and missing from its lists."""
    name = namespaces.create(**FULL)["namespace"]
    for method, rest in PROBES:
        resp = member_b.request(method, ns_path(name, *rest))
        assert resp.status_code == 404, (method, rest, resp.status_code)
    listed = member_b.get(NAMESPACES, params={"limit": 1000}).json()
    assert name not in [n["namespace"] for n in listed["namespaces"]]


@pytest.mark.glance_deviation(
    "Glance tells another project's private namespace from a missing one: "
    "different 404 texts on GET and on its objects, and 403 for it as a "
    "list marker")
def test_private_namespace_answers_like_a_missing_one(member_b, namespaces):
    """Correct behaviour: the same status and text as for a name that does
    not exist, on every route and as a marker."""
    name = namespaces.create(**FULL)["namespace"]
    missing = fresh()
    for method, rest in PROBES:
        seen = member_b.request(method, ns_path(name, *rest),
                                headers=NO_ACCEPT)
        absent = member_b.request(method, ns_path(missing, *rest),
                                  headers=NO_ACCEPT)
        assert seen.status_code == absent.status_code == 404
        assert seen.text.replace(name, "N") == absent.text.replace(
            missing, "N"), (method, rest)
    seen = member_b.get(NAMESPACES, params={"marker": name},
                        headers=NO_ACCEPT)
    absent = member_b.get(NAMESPACES, params={"marker": missing},
                          headers=NO_ACCEPT)
    assert seen.status_code == absent.status_code == 404
    assert seen.text.replace(name, "N") == absent.text.replace(missing, "N")


def test_public_namespace_readable_not_writable(member_b, namespaces):
    """Glance: another project's public namespace is readable; changing it
    is 403 (not 404: it is visible)."""
    name = namespaces.create(visibility="public", **{
        k: v for k, v in FULL.items() if k != "protected"})["namespace"]
    assert member_b.get(ns_path(name)).status_code == 200
    assert member_b.get(ns_path(name, "objects", "o1")).status_code == 200
    expect(member_b.post(ns_path(name, "tags", "t9"), headers=NO_ACCEPT),
           403, "You are not authorized to complete add_metadef_tag action.")


@pytest.mark.parametrize("rest, allow", [
    ((), "GET, PUT, DELETE"), (("objects",), "GET, POST, DELETE"),
    (("tags", "t"), "GET, POST, PUT, DELETE"),
    (("resource_types",), "GET, POST"),
])
def test_namespace_routes_other_methods(admin, rest, allow):
    """Glance: an unrouted method is 405 with the route's methods."""
    resp = admin.patch(ns_path("x", *rest), json={})
    assert resp.status_code == 405
    assert resp.headers["Allow"] == allow


def test_namespace_list_route_other_methods(admin):
    resp = admin.patch(NAMESPACES, json={})
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET, POST"


def test_show_namespace_refuses_a_body(admin, namespaces):
    """Glance: GET of a namespace with a body is 400."""
    name = namespaces.create()["namespace"]
    expect(admin.request("GET", ns_path(name), data=b"{}",
                         headers=NO_ACCEPT), 400,
           "A body is not expected with this request.")


@pytest.mark.glance_deviation(
    "Glance answers 500 when a namespace or property is shown with a query "
    "parameter other than resource_type")
@pytest.mark.parametrize("rest", [(), ("properties", "p1")])
def test_show_with_another_query_parameter(admin, namespaces, rest):
    """Correct behaviour: an unknown parameter is ignored."""
    name = namespaces.create(**FULL)["namespace"]
    assert admin.get(ns_path(name, *rest),
                     params={"foo": "bar"}).status_code == 200
