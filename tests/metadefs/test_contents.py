"""metadefs.contents and metadefs.resource_types: objects, properties,
tags and resource type associations, on every database of the matrix."""

import uuid

import pytest

from artifacts import errors

PROP = {"type": "string", "title": "T"}


@pytest.fixture
def ns(catalog, admin):
    name = "ns-" + uuid.uuid4().hex[:10]
    catalog.create_namespace(admin, {
        "namespace": name, "resource_type_associations": [
            {"name": "OS::Glance::Image", "prefix": "hw_"}]})
    return name


def test_objects(catalog, admin, member, ns):
    objects = catalog.objects
    stored, values = objects.create(admin, ns, {
        "name": "b", "required": ["x"], "properties": {"x": dict(
            PROP, default=1)}})
    assert values["properties"]["x"]["default"] == "1"
    objects.create(admin, ns, {"name": "a"})
    assert [o["name"] for o in objects.list(member, ns)] == ["a", "b"]
    got = objects.get(member, ns, "b")
    assert got["required"] == ["x"] and got["properties"]["x"]["title"] == "T"
    assert objects.get(member, ns, "a")["required"] == []
    with pytest.raises(errors.Conflict):
        objects.create(admin, ns, {"name": "a"})
    with pytest.raises(errors.Conflict) as info:
        objects.update(admin, ns, "b", {"name": "a"})
    assert info.value.message.startswith("Invalid update.")
    objects.update(admin, ns, "b", {"name": "c"})
    with pytest.raises(errors.NotFound) as missing:
        objects.get(member, ns, "b")
    assert missing.value.message == "Could not find metadata object b"
    with pytest.raises(errors.Forbidden):
        objects.delete(member, ns, "c")
    objects.delete(admin, ns, "c")
    assert [o["name"] for o in objects.list(member, ns)] == ["a"]


def test_object_documents_checked(catalog, admin, ns):
    with pytest.raises(errors.Invalid) as info:
        catalog.objects.create(admin, ns, {"name": "o", "description":
                                           "x" * 70000})
    assert info.value.message.startswith("Couldn't create metadata object:")
    with pytest.raises(errors.Invalid):
        catalog.objects.create(admin, ns, {"name": "o", "properties": {
            "p": dict(PROP, enum=[1])}})


def test_properties(catalog, admin, member, ns):
    props = catalog.properties
    name, definition = props.create(admin, ns, dict(PROP, name="p",
                                                    default=True))
    assert (name, definition["default"]) == ("p", "True")
    assert props.list(member, ns)["p"]["name"] == "p"
    assert props.get(member, ns, "p")[0] == "p"
    assert props.get(member, ns, "hw_p", resource_type="OS::Glance::Image"
                     )[0] == "p"
    with pytest.raises(errors.NotFound) as info:
        props.get(member, ns, "p", resource_type="OS::Glance::Image")
    assert "expected resource type association prefix of 'hw_'" \
        in info.value.message
    with pytest.raises(errors.NotFound) as info:
        props.get(member, ns, "hw_p", resource_type="No::Such")
    assert info.value.message == ("The metadata definition resource-type "
                                  "with name=No::Such, was not found.")
    props.create(admin, ns, dict(PROP, name="q"))
    with pytest.raises(errors.Conflict):
        props.update(admin, ns, "q", dict(PROP, name="p"))
    props.update(admin, ns, "q", {"name": "r", "type": "integer",
                                  "title": "N"})
    assert sorted(props.list(member, ns)) == ["p", "r"]
    props.delete(admin, ns, "r")
    with pytest.raises(errors.NotFound) as gone:
        props.delete(admin, ns, "r")
    assert gone.value.message == "Could not find property r"


def test_tags(catalog, admin, member, ns):
    tags = catalog.tags
    assert tags.create_many(admin, ns, ["a", "b"]) == ["a", "b"]
    tags.create_many(admin, ns, ["c"])
    assert tags.list(member, ns) == ["c"]
    tags.create_many(admin, ns, ["d"], append=True)
    tags.create_many(admin, ns, [])          # changes nothing
    assert sorted(tags.list(member, ns)) == ["c", "d"]
    tags.create(admin, ns, "e")
    assert tags.list(member, ns)[0] == "e"   # newest first
    assert tags.list(member, ns, sort_key="name", sort_dir="asc",
                     marker="c", limit=1) == ["d"]
    with pytest.raises(errors.Conflict):
        tags.create_many(admin, ns, ["x", "x"])
    assert sorted(tags.list(member, ns)) == ["c", "d", "e"]
    with pytest.raises(errors.Conflict):
        tags.update(admin, ns, "e", "c")
    assert tags.update(admin, ns, "e", "f")["name"] == "f"
    with pytest.raises(errors.Invalid):
        tags.create(admin, ns, "t" * 81)
    with pytest.raises(errors.Invalid):
        tags.list(member, ns, sort_key="secret")
    tags.delete(admin, ns, "f")
    with pytest.raises(errors.NotFound) as info:
        tags.get(member, ns, "f")
    assert info.value.message == "Could not find metadata tag f"


def test_tag_names_are_exact(catalog, admin, ns):
    """Tag names compare exactly on every database (Glance's MySQL
    would call these one tag)."""
    catalog.tags.create_many(admin, ns, ["Tag", "tag", "TAG"])
    assert sorted(catalog.tags.list(admin, ns)) == ["TAG", "Tag", "tag"]


def test_resource_types(catalog, admin, member, ns):
    rts = catalog.resource_types
    rtype = "T::" + uuid.uuid4().hex[:8]
    made = rts.associate(admin, ns, {"name": rtype, "prefix": "p_"})
    assert made["name"] == rtype and made["prefix"] == "p_"
    assert [a["name"] for a in rts.list_for(member, ns)] == [
        "OS::Glance::Image", rtype]
    assert rtype in [r["name"] for r in rts.list(member)]
    with pytest.raises(errors.Conflict):
        rts.associate(admin, ns, {"name": rtype})
    with pytest.raises(errors.Forbidden):
        rts.associate(member, ns, {"name": "Other"})
    rts.dissociate(admin, ns, rtype)
    with pytest.raises(errors.NotFound) as info:
        rts.dissociate(admin, ns, rtype)
    assert info.value.message == ("Failed to find resource type %s to "
                                  "delete" % rtype)
    assert rtype in [r["name"] for r in rts.list(member)]


def test_contents_of_a_hidden_namespace(catalog, admin, other, ns):
    calls = [lambda: catalog.objects.list(other, ns),
             lambda: catalog.properties.list(other, ns),
             lambda: catalog.tags.list(other, ns),
             lambda: catalog.resource_types.list_for(other, ns),
             lambda: catalog.tags.create(other, ns, "x")]
    for call in calls:
        with pytest.raises(errors.NotFound):
            call()
