"""Glance's metadef_* notifications (glance_compat/metadef_notifications.py).

The key lists and sequences are what a real Glance 33 sent to RabbitMQ for
the same requests (tests/integration/test_notifications.py compares the
two servers); here the in-process app's notifications are recorded.
"""

import types as pytypes

import pytest

from glance_compat import metadef_notifications as mn
from glance_compat import notifications
from metadefs.service import Change
from tests import wsgi_app
from tests.glance_compat.test_notifications import H, T0, Recorder

NAMESPACE_KEYS = ["namespace", "namespace_old", "display_name", "protected",
                  "visibility", "owner", "description", "created_at",
                  "updated_at", "deleted", "deleted_at"]
PROPERTY_FIELDS = ["type", "title", "description", "default", "minimum",
                   "maximum", "enum", "pattern", "minLength", "maxLength",
                   "confidential", "items", "uniqueItems", "minItems",
                   "maxItems", "additionalItems"]
OBJECT_KEYS = ["namespace", "name", "name_old", "properties", "required",
               "description", "created_at", "updated_at", "deleted",
               "deleted_at"]
OBJECT_PROPERTY_KEYS = ["name"] + PROPERTY_FIELDS
PROPERTY_KEYS = ["namespace", "name", "name_old"] + PROPERTY_FIELDS + [
    "deleted", "deleted_at"]
RESOURCE_TYPE_KEYS = ["namespace", "name", "name_old", "prefix",
                      "properties_target", "created_at", "updated_at",
                      "deleted", "deleted_at"]
TAG_KEYS = ["namespace", "name", "name_old", "created_at", "updated_at",
            "deleted", "deleted_at"]
KEYS = {"namespace": NAMESPACE_KEYS, "object": OBJECT_KEYS,
        "property": PROPERTY_KEYS, "resource_type": RESOURCE_TYPE_KEYS,
        "tag": TAG_KEYS}


@pytest.fixture(scope="module")
def glare(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("md-notify")
    conf = wsgi_app.sqlite_conf(tmp)
    engine = wsgi_app.migrated_engine(conf)
    recorder = Recorder()
    notifications.subscribe(engine, recorder)
    yield pytypes.SimpleNamespace(client=wsgi_app.client(conf, engine),
                                  recorder=recorder)
    engine.db.dispose()


def scenario(request, ns):
    """The requests of the comparison with real Glance (every kind of
    change); each must succeed.  ``request(method, path, body)`` answers
    with an object that has ``status_code`` and ``text``."""
    m = "/v2/metadefs/namespaces"
    calls = [
        ("post", m, {"namespace": ns, "display_name": "D",
                     "description": "d", "visibility": "public",
                     "objects": [{"name": "o0", "properties": {
                         "p": {"type": "string", "title": "P"}}}],
                     "properties": {"q0": {"type": "integer", "title": "Q",
                                           "minimum": 0}},
                     "tags": [{"name": "t0"}],
                     "resource_type_associations": [
                         {"name": "OS::Glance::Image", "prefix": "x_"}]}),
        ("put", m + "/" + ns, {"namespace": ns, "display_name": "D2",
                               "description": "d2",
                               "visibility": "public"}),
        ("post", m + "/%s/objects" % ns, {
            "name": "o1", "description": "od", "required": ["a"],
            "properties": {"a": {"type": "string", "title": "A",
                                 "enum": ["x", "y"], "default": "x"},
                           "b": {"type": "boolean", "title": "B"}}}),
        ("put", m + "/%s/objects/o1" % ns, {
            "name": "o2", "description": "od2",
            "properties": {"a": {"type": "string", "title": "A"}}}),
        ("delete", m + "/%s/objects/o2" % ns, None),
        ("post", m + "/%s/properties" % ns, {
            "name": "p1", "type": "array", "title": "P1",
            "items": {"type": "string", "enum": ["a", "b"]},
            "minItems": 1, "uniqueItems": True}),
        ("put", m + "/%s/properties/p1" % ns, {
            "name": "p2", "type": "string", "title": "P2", "maxLength": 5}),
        ("delete", m + "/%s/properties/p2" % ns, None),
        ("post", m + "/%s/tags/tg1" % ns, None),
        ("put", m + "/%s/tags/tg1" % ns, {"name": "tg2"}),
        ("delete", m + "/%s/tags/tg2" % ns, None),
        ("post", m + "/%s/tags" % ns, {"tags": [{"name": "b1"},
                                                {"name": "b2"}]}),
        ("post", m + "/%s/resource_types" % ns, {
            "name": "OS::Nova::Flavor", "prefix": "f_",
            "properties_target": "image"}),
        ("delete", m + "/%s/resource_types/OS::Nova::Flavor" % ns, None),
        ("delete", m + "/%s/objects" % ns, None),
        ("delete", m + "/%s/properties" % ns, None),
        ("delete", m + "/%s/tags" % ns, None),
        ("delete", m + "/" + ns, None),
    ]
    for method, url, body in calls:
        resp = request(method, url, body)
        assert resp.status_code < 300, (method, url, resp.text)


#: What real Glance 33 sent for ``scenario`` (event types, in order).
GLANCE_SEQUENCE = [
    "metadef_namespace.create", "metadef_resource_type.create",
    "metadef_object.create", "metadef_tag.create",
    "metadef_property.create", "metadef_namespace.update",
    "metadef_object.create", "metadef_object.update",
    "metadef_object.delete", "metadef_property.create",
    "metadef_property.update", "metadef_property.delete",
    "metadef_tag.create", "metadef_tag.update", "metadef_tag.delete",
    "metadef_tag.create", "metadef_tag.create",
    "metadef_resource_type.create", "metadef_resource_type.delete",
    "metadef_namespace.delete_objects",
    "metadef_namespace.delete_properties", "metadef_namespace.delete_tags",
    "metadef_namespace.delete"]


def test_every_change_is_told_as_glance_tells_it(glare):
    before = len(glare.recorder.sent)
    scenario(lambda method, path, body: getattr(glare.client, method)(
        path, json=body, headers=H), "ns_told")
    sent = glare.recorder.sent[before:]
    assert [e for _, e, _ in sent] == GLANCE_SEQUENCE
    assert {p for p, _, _ in sent} == {"INFO"}
    for _, event, payload in sent:
        kind = event.split(".")[0][len("metadef_"):]
        assert list(payload) == KEYS[kind], event
        assert payload["namespace"] == "ns_told"
        deleted = event.endswith(".delete")
        assert payload["deleted"] is deleted
        assert (payload["deleted_at"] is not None) is deleted
    p = [payload for _, _, payload in sent]
    assert p[0]["owner"] == "glare-project"
    assert (p[0]["display_name"], p[5]["display_name"]) == ("D", "D2")
    assert p[1]["prefix"] == "x_" and p[1]["properties_target"] is None
    # An object's properties: a list, Glance's "or None" on each value.
    assert p[2]["properties"] == [dict(
        {k: None for k in OBJECT_PROPERTY_KEYS}, name="p", type="string",
        title="P")]
    assert p[2]["required"] is None and p[2]["description"] is None
    # A property's own notification keeps a minimum of 0.
    assert p[4]["minimum"] == 0 and p[4]["type"] == "integer"
    assert p[6]["required"] == ["a"]
    assert [x["default"] for x in p[6]["properties"]] == ["x", None]
    assert p[6]["properties"][0]["enum"] == ["x", "y"]
    assert (p[7]["name"], p[7]["name_old"]) == ("o2", "o1")
    assert p[7]["required"] is None
    assert p[8]["required"] == []          # read back from the database
    assert p[9]["items"] == {"type": "string", "enum": ["a", "b"]}
    assert (p[9]["minItems"], p[9]["uniqueItems"]) == (1, True)
    assert (p[10]["name"], p[10]["name_old"], p[10]["maxLength"]) == (
        "p2", "p1", 5)
    assert p[11]["maxLength"] == 5
    assert (p[13]["name"], p[13]["name_old"]) == ("tg2", "tg1")
    assert [x["name"] for x in p[15:17]] == ["b1", "b2"]
    assert (p[17]["prefix"], p[17]["properties_target"]) == ("f_", "image")
    assert p[18]["prefix"] == "f_"
    assert p[22]["display_name"] == "D2"
    assert p[0]["created_at"].endswith("Z")


def test_a_refused_change_says_nothing(glare):
    client = glare.client
    m = "/v2/metadefs/namespaces"
    assert client.post(m, json={"namespace": "ns_quiet"},
                       headers=H).status_code == 201
    before = len(glare.recorder.sent)
    # A duplicate, a document with one bad object, a missing tag.
    assert client.post(m, json={"namespace": "ns_quiet"},
                       headers=H).status_code == 409
    assert client.post(m, json={"namespace": "ns_q2", "objects": [
        {"name": "ok"}, {"nam": "bad"}]}, headers=H).status_code == 400
    assert client.delete(m + "/ns_quiet/tags/none",
                         headers=H).status_code == 404
    assert glare.recorder.sent[before:] == []


def test_namespace_rename_names_the_old_one():
    change = Change("update", "namespace", {
        "namespace": "new", "display_name": None, "description": None,
        "visibility": None, "protected": None, "owner": "p",
        "created_at": T0, "updated_at": T0}, None, "old")
    event, payload = mn.payload(change)
    assert event == "metadef_namespace.update"
    assert (payload["namespace"], payload["namespace_old"]) == ("new", "old")
    assert (payload["visibility"], payload["protected"]) == ("private",
                                                             False)
    assert payload["created_at"] == "2024-05-06T07:08:09Z"


def test_off_means_no_listener():
    catalog = pytypes.SimpleNamespace(listeners=[])
    catalog.subscribe = catalog.listeners.append
    mn.subscribe(catalog, pytypes.SimpleNamespace(enabled=False))
    assert catalog.listeners == []
    mn.subscribe(catalog, Recorder())
    assert len(catalog.listeners) == 1
