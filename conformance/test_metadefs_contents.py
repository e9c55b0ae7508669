"""Metadata definitions: what a namespace holds (objects, properties,
tags) and resource types with their associations.

Namespaces, schemas, visibility and protection are in test_metadefs.py.
"""

import pytest

from conformance.metadef_helpers import (NO_ACCEPT, TIME, expect, fresh,
                                         namespaces, ns_path)

__all__ = ["namespaces"]

OBJECT_KEYS = ["name", "required", "description", "properties",
               "created_at", "updated_at", "self", "schema"]
PROP = {"type": "string", "title": "T", "enum": ["a", "b"]}


@pytest.fixture
def ns(namespaces):
    """A fresh, unprotected, private namespace of project A."""
    return namespaces.create()["namespace"]


# ------------------------------------------------------------------ objects


def test_create_object(admin, ns):
    """Glance: 201 with what was sent (normalised), times and links; no
    Location."""
    resp = admin.post(ns_path(ns, "objects"), json={
        "name": "o", "description": "d", "required": ["p"],
        "properties": {"p": dict(PROP, default=7)}})
    assert resp.status_code == 201, resp.text
    assert "Location" not in resp.headers
    body = resp.json()
    assert list(body) == OBJECT_KEYS
    assert body["properties"] == {"p": {"type": "string", "title": "T",
                                        "default": "7", "enum": ["a", "b"]}}
    assert TIME.match(body["created_at"])
    assert body["self"] == ns_path(ns, "objects", "o")
    assert body["schema"] == "/v2/schemas/metadefs/object"


def test_list_objects(admin, ns):
    """Glance: objects by name, each with ``required`` and ``properties``
    (empty when not given); the list's schema link has no leading
    slash."""
    for name in ("zeta", "alpha", "mid"):
        created = admin.post(ns_path(ns, "objects"), json={"name": name})
        assert "required" not in created.json()
    body = admin.get(ns_path(ns, "objects")).json()
    assert [o["name"] for o in body["objects"]] == ["alpha", "mid", "zeta"]
    assert body["objects"][0]["required"] == []
    assert body["objects"][0]["properties"] == {}
    assert body["schema"] == "v2/schemas/metadefs/objects"


def test_object_not_found(admin, ns):
    """Glance: a missing object is 404 'Could not find metadata object x';
    one in a missing namespace names the namespace."""
    expect(admin.get(ns_path(ns, "objects", "nope"), headers=NO_ACCEPT),
           404, "Could not find metadata object nope")
    missing = fresh()
    expect(admin.get(ns_path(missing, "objects", "o"), headers=NO_ACCEPT),
           404, "Metadata definition namespace=%s was not found." % missing)


def test_object_conflict(admin, ns):
    """Glance: a second object with a name is 409."""
    admin.post(ns_path(ns, "objects"), json={"name": "a"})
    expect(admin.post(ns_path(ns, "objects"), json={"name": "a"},
                      headers=NO_ACCEPT), 409,
           "A metadata definition object with name=a already exists in "
           "namespace=%s." % ns)


@pytest.mark.glance_deviation(
    "Glance answers 500 when an object or a property is renamed onto "
    "another one")
@pytest.mark.parametrize("kind, body", [
    ("objects", {"name": "a"}), ("properties", dict(PROP, name="a"))])
def test_rename_onto_another(admin, ns, kind, body):
    """Correct behaviour: 409 with the text Glance means to give."""
    for name in ("a", "b"):
        admin.post(ns_path(ns, kind), json=dict(body, name=name))
    noun = {"objects": "object", "properties": "property"}[kind]
    expect(admin.put(ns_path(ns, kind, "b"), json=body, headers=NO_ACCEPT),
           409, "Invalid update. It would result in a duplicate metadata "
           "definition %s with the same name=a in namespace=%s." % (noun, ns))


def test_update_object(admin, ns):
    """Glance: PUT replaces the object (a missing field is cleared) and
    may rename it."""
    admin.post(ns_path(ns, "objects"), json={
        "name": "o", "description": "d", "properties": {"p": PROP}})
    resp = admin.put(ns_path(ns, "objects", "o"), json={"name": "o2"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["self"] == ns_path(ns, "objects", "o2")
    shown = admin.get(ns_path(ns, "objects", "o2")).json()
    assert shown["properties"] == {} and "description" not in shown
    assert admin.get(ns_path(ns, "objects", "o")).status_code == 404


def test_object_property_checked_as_a_property(admin, ns):
    """Glance: each property of a created object is checked against the
    property schema: 400 naming it."""
    resp = admin.post(ns_path(ns, "objects"), headers=NO_ACCEPT, json={
        "name": "o", "properties": {"p": dict(PROP, foo=1)}})
    expect(resp, 400)
    assert resp.text.split("\n\n")[1].startswith(
        "Provided object does not match schema 'property': ")


def test_object_list_limit_must_be_positive(admin, ns):
    """Glance: the object list checks ``limit`` (0 is 400 here)."""
    expect(admin.get(ns_path(ns, "objects"), params={"limit": "0"},
                     headers=NO_ACCEPT), 400, "limit param must be positive")


# --------------------------------------------------------------- properties


def test_create_and_show_property(admin, ns):
    """Glance: a property shows its name first, then its definition;
    the list holds it by name (with the name kept inside)."""
    resp = admin.post(ns_path(ns, "properties"), json=dict(
        PROP, name="p", default=True, minimum=2))
    assert resp.status_code == 201, resp.text
    assert list(resp.json()) == ["name", "type", "title", "default",
                                 "minimum", "enum"]
    assert resp.json()["default"] == "True"
    shown = admin.get(ns_path(ns, "properties", "p")).json()
    assert shown == resp.json()
    listed = admin.get(ns_path(ns, "properties")).json()
    assert listed == {"properties": {"p": shown}}


def test_property_errors(admin, ns):
    """Glance: missing 404, duplicate 409, a body without name 400."""
    expect(admin.get(ns_path(ns, "properties", "nope"), headers=NO_ACCEPT),
           404, "Could not find property nope")
    admin.post(ns_path(ns, "properties"), json=dict(PROP, name="p"))
    expect(admin.post(ns_path(ns, "properties"), json=dict(PROP, name="p"),
                      headers=NO_ACCEPT), 409,
           "A metadata definition property with name=p already exists in "
           "namespace=%s." % ns)
    resp = admin.post(ns_path(ns, "properties"), json=PROP,
                      headers=NO_ACCEPT)
    expect(resp, 400)
    expect(admin.get(ns_path(fresh(), "properties"), headers=NO_ACCEPT),
           404)


def test_update_property_renames(admin, ns):
    """Glance: PUT replaces the definition and may rename it."""
    admin.post(ns_path(ns, "properties"), json=dict(PROP, name="p"))
    resp = admin.put(ns_path(ns, "properties", "p"), json={
        "name": "p2", "type": "integer", "title": "N"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"name": "p2", "type": "integer", "title": "N"}
    assert admin.get(ns_path(ns, "properties", "p")).status_code == 404


def test_property_by_resource_type_prefix(admin, namespaces):
    """Glance: ?resource_type=R takes the name with R's prefix; a name
    without it, an unknown type or an absent association is 404."""
    ns = namespaces.create(resource_type_associations=[
        {"name": "OS::Glance::Image", "prefix": "hw_"}])["namespace"]
    admin.post(ns_path(ns, "properties"), json=dict(PROP, name="p"))
    path = ns_path(ns, "properties", "hw_p")
    shown = admin.get(path, params={"resource_type": "OS::Glance::Image"})
    assert shown.status_code == 200 and shown.json()["name"] == "p"
    expect(admin.get(ns_path(ns, "properties", "p"), headers=NO_ACCEPT,
                     params={"resource_type": "OS::Glance::Image"}), 404,
           "Property p does not start with the expected resource type "
           "association prefix of 'hw_'.")
    rtype = "Conf::None::" + fresh("rt")
    expect(admin.get(path, params={"resource_type": rtype},
                     headers=NO_ACCEPT), 404,
           "The metadata definition resource-type with name=%s, was not "
           "found." % rtype)


# --------------------------------------------------------------------- tags


def test_tags_replace_and_append(admin, ns):
    """Glance: POST .../tags replaces the tags (201 with the names);
    X-Openstack-Append: true adds; the list is newest first."""
    resp = admin.post(ns_path(ns, "tags"), json={"tags": [
        {"name": "a"}, {"name": "b"}]})
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"tags": [{"name": "a"}, {"name": "b"}]}
    admin.post(ns_path(ns, "tags"), json={"tags": [{"name": "c"}]})
    assert admin.get(ns_path(ns, "tags")).json() == {"tags": [{"name": "c"}]}
    admin.post(ns_path(ns, "tags"), json={"tags": [{"name": "d"}]},
               headers={"X-Openstack-Append": "True"})
    names = [t["name"] for t in admin.get(ns_path(ns, "tags")).json()["tags"]]
    assert sorted(names) == ["c", "d"]


def test_tags_newest_first_and_paging(admin, ns):
    """Glance: tags list newest first by default; sort_key, sort_dir,
    limit and marker (a tag name) page them."""
    for name in ("zt", "at", "mt"):
        assert admin.post(ns_path(ns, "tags", name)).status_code == 201
    names = [t["name"] for t in admin.get(ns_path(ns, "tags")).json()["tags"]]
    assert names == ["mt", "at", "zt"]
    page = admin.get(ns_path(ns, "tags"), params={
        "sort_key": "name", "sort_dir": "asc", "limit": 2,
        "marker": "at"}).json()
    assert [t["name"] for t in page["tags"]] == ["mt", "zt"]
    expect(admin.get(ns_path(ns, "tags"), params={"marker": "nope"},
                     headers=NO_ACCEPT), 404,
           "Could not find metadata tag nope")


def test_tag_create_show_update_delete(admin, ns):
    """Glance: one tag shows its name and times; renamed by PUT; deleted
    with 204."""
    created = admin.post(ns_path(ns, "tags", "t1"))
    assert created.status_code == 201
    assert list(created.json()) == ["name", "created_at", "updated_at"]
    assert admin.get(ns_path(ns, "tags", "t1")).json()["name"] == "t1"
    renamed = admin.put(ns_path(ns, "tags", "t1"), json={"name": "t2"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "t2"
    assert admin.delete(ns_path(ns, "tags", "t2")).status_code == 204
    expect(admin.get(ns_path(ns, "tags", "t2"), headers=NO_ACCEPT), 404,
           "Could not find metadata tag t2")


def test_tag_conflicts(admin, ns):
    """Glance: a duplicate tag (alone, by rename or in a list) is 409 and
    a list with one changes nothing."""
    admin.post(ns_path(ns, "tags", "t1"))
    admin.post(ns_path(ns, "tags", "t2"))
    expect(admin.put(ns_path(ns, "tags", "t2"), json={"name": "t1"},
                     headers=NO_ACCEPT), 409)
    admin.delete(ns_path(ns, "tags", "t2"))
    text = ("A metadata tag with name=t1 already exists in namespace=%s. "
            "(Please note that metadata tag names are case insensitive)."
            % ns)
    expect(admin.post(ns_path(ns, "tags", "t1"), headers=NO_ACCEPT), 409,
           text)
    expect(admin.post(ns_path(ns, "tags"), headers=NO_ACCEPT, json={
        "tags": [{"name": "x"}, {"name": "x"}]}), 409)
    assert admin.get(ns_path(ns, "tags")).json() == {"tags": [{"name":
                                                               "t1"}]}


def test_tag_name_too_long(admin, ns):
    """Glance: a tag name over 80 characters is 400."""
    expect(admin.post(ns_path(ns, "tags", "t" * 81), headers=NO_ACCEPT), 400)


# ----------------------------------------------------------- resource types


def test_associate_resource_type(admin, ns):
    """Glance: associating a new resource type creates it (201 with the
    association), lists it, refuses a second one (409) and removes it
    (204) while the resource type stays."""
    rtype = "Conf::Type::" + fresh("rt")
    path = ns_path(ns, "resource_types")
    resp = admin.post(path, json={"name": rtype, "prefix": "c_",
                                  "properties_target": "image"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert list(body) == ["name", "prefix", "properties_target",
                          "created_at", "updated_at"]
    listed = admin.get(path).json()["resource_type_associations"]
    assert [a["name"] for a in listed] == [rtype]
    expect(admin.post(path, json={"name": rtype}, headers=NO_ACCEPT), 409,
           "The metadata definition resource-type association of "
           "resource-type=%s to namespace=%s already exists." % (rtype, ns))
    assert admin.delete(path + "/" + rtype).status_code == 204
    assert admin.get(path).json() == {"resource_type_associations": []}
    expect(admin.delete(path + "/" + rtype, headers=NO_ACCEPT), 404,
           "Failed to find resource type %s to delete" % rtype)
    types = admin.get("/v2/metadefs/resource_types").json()["resource_types"]
    mine = [t for t in types if t["name"] == rtype]
    assert len(mine) == 1
    assert list(mine[0]) == ["name", "created_at", "updated_at"]


def test_member_cannot_associate(member, namespaces):
    """Glance: only administrators associate resource types."""
    ns = namespaces.create()["namespace"]
    expect(member.post(ns_path(ns, "resource_types"), json={"name": "X"},
                       headers=NO_ACCEPT), 403,
           "You are not authorized to complete "
           "add_metadef_resource_type_association action.")
    assert member.get("/v2/metadefs/resource_types").status_code == 200


def test_association_bad_document(admin, ns):
    """Glance: an association document its schema refuses is 400."""
    resp = admin.post(ns_path(ns, "resource_types"), headers=NO_ACCEPT,
                      json={"prefix": "x"})
    expect(resp, 400)
    assert resp.text.split("\n\n")[1].startswith(
        "Provided object does not match schema 'resource_type_association'")
