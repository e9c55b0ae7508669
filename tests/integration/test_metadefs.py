"""Metadata definitions through real clients against a real Glare, on
SQLite, PostgreSQL and MariaDB: python-glanceclient (library and the
``glance md-*`` CLI), openstacksdk, ``glare db load-metadefs`` into the
server's database, and hostile requests (oversized and malformed
documents, another project probing private namespaces, protected
namespaces)."""

import json
import subprocess
import sys

import glanceclient
import openstack.connection
import pytest
import requests
from glanceclient import exc

from conformance.glance_runner import ROOT
from tests.integration.helpers import (ADMIN, glance_cli, glance_venv,
                                       parse_table, project_headers, unique)

pytestmark = pytest.mark.integration

NS = "/v2/metadefs/namespaces"


@pytest.fixture(scope="module")
def gc(server):
    return glanceclient.Client("2", endpoint=server.url, token="x")


@pytest.fixture(scope="module")
def glance(server, tmp_path_factory):
    return glance_cli(server, tmp_path_factory.mktemp("glance-home"))


@pytest.fixture(scope="module")
def sdk(server):
    conn = openstack.connection.Connection(
        auth_type="admin_token", auth={"token": "x", "endpoint": server.url},
        image_endpoint_override=server.url, image_api_version="2")
    yield conn.image
    conn.close()


def test_glanceclient_library(gc):
    name, rtype = unique("ns"), unique("Conf::Type")
    ns = gc.metadefs_namespace.create(
        namespace=name, visibility="public", protected=True,
        display_name="Library", resource_type_associations=[{"name": rtype,
                                                             "prefix": "c_"}])
    assert ns.namespace == name and ns.protected is True
    listed = list(gc.metadefs_namespace.list(
        filters={"resource_types": [rtype]}))
    assert [n.namespace for n in listed] == [name]
    gc.metadefs_object.create(name, name="obj", required=["x"], properties={
        "x": {"type": "string", "title": "X", "enum": ["a", "b"]}})
    gc.metadefs_property.create(name, name="prop", title="P", type="integer",
                                minimum=1)
    gc.metadefs_tag.create(name, "zero")
    # (create_multiple's append=True fails inside glanceclient itself: it
    # quotes the boolean header value.)
    tags = list(gc.metadefs_tag.create_multiple(name, tags=["one", "two"]))
    assert [t.name for t in tags] == ["one", "two"]
    assert sorted(t.name for t in gc.metadefs_tag.list(name)) == [
        "one", "two"]
    shown = gc.metadefs_namespace.get(name, resource_type=rtype)
    assert list(shown.properties) == ["c_prop"]
    assert shown.objects[0]["required"] == ["c_x"]
    obj = gc.metadefs_object.update(name, "obj", description="changed")
    assert obj.description == "changed"
    prop = gc.metadefs_property.update(name, "prop", title="New")
    assert prop.title == "New" and prop.minimum == 1
    assert gc.metadefs_tag.update(name, "one", name="uno").name == "uno"
    assert [a["name"] for a in gc.metadefs_resource_type.get(name)] == [rtype]
    assert rtype in [r["name"] for r in gc.metadefs_resource_type.list()]
    with pytest.raises(exc.HTTPForbidden):
        gc.metadefs_namespace.delete(name)
    gc.metadefs_namespace.update(name, protected=False)
    gc.metadefs_resource_type.deassociate(name, rtype)
    gc.metadefs_tag.delete_all(name)
    gc.metadefs_object.delete_all(name)
    gc.metadefs_property.delete_all(name)
    again = gc.metadefs_namespace.get(name)
    assert "objects" not in again and "tags" not in again
    gc.metadefs_namespace.delete(name)
    with pytest.raises(exc.HTTPNotFound):
        gc.metadefs_namespace.get(name)


def test_glance_cli(glance, tmp_path):
    name = unique("cli-ns")
    out = parse_table(glance("md-namespace-create", name, "--visibility",
                             "public", "--display-name", "CLI").stdout)
    assert out["namespace"] == name and out["visibility"] == "public"
    assert name in glance("md-namespace-list").stdout
    glance("md-property-create", name, "--name", "p", "--title", "P",
           "--type", "string", "--schema", json.dumps({"enum": ["a"]}))
    assert "p" in glance("md-property-list", name).stdout
    glance("md-object-create", name, "--name", "o", "--schema", json.dumps(
        {"properties": {"x": {"type": "string", "title": "X"}}}))
    shown = parse_table(glance("md-object-show", name, "o").stdout)
    assert shown["name"] == "o"
    glance("md-tag-create-multiple", name, "--names", "a,b", "--delim", ",")
    assert "b" in glance("md-tag-list", name).stdout
    glance("md-resource-type-associate", name, "--name", "OS::Glance::Image",
           "--prefix", "cli_")
    assert "OS::Glance::Image" in glance("md-namespace-resource-type-list",
                                         name).stdout
    updated = parse_table(glance("md-namespace-update", name,
                                 "--display-name", "Renamed").stdout)
    assert updated["display_name"] == "Renamed"
    glance("md-namespace-tags-delete", name)
    assert "b" not in glance("md-tag-list", name).stdout
    glance("md-namespace-delete", name)
    gone = glance("md-namespace-show", name, check=False)
    assert gone.returncode != 0 and "404" in gone.stderr + gone.stdout


def test_openstacksdk(sdk):
    name = unique("sdk-ns")
    ns = sdk.create_metadef_namespace(namespace=name, visibility="public",
                                      display_name="SDK")
    assert ns.namespace == name and ns.visibility == "public"
    assert name in [n.namespace for n in sdk.metadef_namespaces()]
    sdk.create_metadef_object(name, name="o", properties={
        "x": {"type": "string", "title": "X"}})
    assert [o.name for o in sdk.metadef_objects(name)] == ["o"]
    sdk.create_metadef_property(name, name="p", title="P", type="integer")
    assert sdk.get_metadef_property("p", name).title == "P"
    sdk.create_metadef_resource_type_association(
        name, name="OS::Nova::Flavor", prefix="sdk:")
    assert [a.name for a in sdk.metadef_resource_type_associations(name)] \
        == ["OS::Nova::Flavor"]
    fetched = sdk.get_metadef_namespace(name)
    fetched.set_tags(sdk, ["t1", "t2"])
    tags = sdk.get_metadef_namespace(name).tags
    assert sorted(t["name"] for t in tags) == ["t1", "t2"]
    sdk.update_metadef_namespace(fetched, display_name="Changed")
    assert sdk.get_metadef_namespace(name).display_name == "Changed"
    sdk.delete_all_metadef_objects(name)
    sdk.delete_metadef_namespace(name)
    assert name not in [n.namespace for n in sdk.metadef_namespaces()]
    assert sdk.get_metadef_namespace_schema().name == "namespace"


# ------------------------------------------------------------ hostile input


def _post(server, path, body=None, data=None, headers=None):
    """POST as the admin; errors come as text/plain (no Accept)."""
    return requests.post(server.url + path, json=body, data=data,
                         headers=dict(ADMIN, Accept=None, **(headers or {})),
                         timeout=60)


def test_oversized_body_is_413(server):
    big = {"namespace": unique("big"), "description": "x",
           "properties": {"p%d" % i: {"type": "string", "title": "x" * 1000}
                          for i in range(1100)}}
    resp = _post(server, NS, big)
    assert resp.status_code == 413
    assert requests.get(server.url + NS + "/" + big["namespace"],
                        headers=ADMIN).status_code == 404


def test_oversized_property_is_400_naming_it(server):
    name = unique("ns")
    assert _post(server, NS, {"namespace": name}).status_code == 201
    resp = _post(server, NS + "/" + name + "/properties", {
        "name": "huge", "type": "string", "title": "T",
        "enum": ["v%06d" % i for i in range(9000)]})
    assert resp.status_code == 400
    assert resp.text.split("\n\n")[1].startswith(
        "Couldn't create metadata property: property 'huge' takes ")
    assert "at most 65535" in resp.text


@pytest.mark.parametrize("data", [
    b"{", b"[" * 100 + b"]" * 100, b'{"namespace": "\\ud800"}', b"\xff\xfe",
    b'"just a string"', b"[1, 2]"])
def test_malformed_documents_are_4xx(server, data):
    resp = _post(server, NS, data=data,
                 headers={"Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)


@pytest.mark.parametrize("body", [
    {"namespace": "n", "objects": [{"name": "o", "bogus": 1}]},
    {"namespace": "n", "objects": [{"name": "o"}, {"name": "o"}]},
    {"namespace": "n", "resource_type_associations": [{"prefix": "x"}]},
    {"namespace": "n", "tags": [{"name": "t" * 200}]},
    {"namespace": "n", "properties": {"p": {"type": "string", "title": "T",
                                            "items": {"x": 1}}}},
])
def test_malformed_contents_create_nothing(server, body):
    body = dict(body, namespace=unique("bad"))
    resp = _post(server, NS, body)
    assert resp.status_code in (400, 409), resp.text
    assert requests.get(server.url + NS + "/" + body["namespace"],
                        headers=ADMIN).status_code == 404


def test_other_project_probing_private_namespaces(server):
    name = unique("secret")
    body = {"namespace": name, "owner": "project-a", "tags": [{"name": "t"}],
            "objects": [{"name": "o"}],
            "properties": {"p": {"type": "string", "title": "T"}}}
    assert _post(server, NS, body).status_code == 201
    owner = project_headers("project-a")
    prober = project_headers("project-b")
    assert requests.get(server.url + NS + "/" + name,
                        headers=owner).status_code == 200
    missing = unique("missing")
    for rest in ("", "/objects", "/objects/o", "/properties",
                 "/properties/p", "/tags", "/tags/t", "/resource_types"):
        seen = requests.get(server.url + NS + "/" + name + rest,
                            headers=prober)
        absent = requests.get(server.url + NS + "/" + missing + rest,
                              headers=prober)
        # Exactly what a namespace that does not exist answers.
        assert seen.status_code == absent.status_code == 404, rest
        assert seen.text.replace(name, "N") == absent.text.replace(
            missing, "N"), rest
    listed = requests.get(server.url + NS, params={"limit": 1000},
                          headers=prober).json()
    assert name not in json.dumps(listed)
    marker = requests.get(server.url + NS, params={"marker": name},
                          headers=prober)
    assert marker.status_code == 404


def test_protected_namespace_refuses_delete(server, gc):
    name = unique("protected")
    gc.metadefs_namespace.create(namespace=name, protected=True)
    resp = requests.delete(server.url + NS + "/" + name, headers=ADMIN)
    assert resp.status_code == 403
    assert "is protected and cannot be deleted" in resp.text
    assert gc.metadefs_namespace.get(name).namespace == name


# ----------------------------------------------------------------- loading


def test_load_glance_standard_definitions(server, gc):
    """``glare db load-metadefs`` with a Glance virtualenv (its wheel's
    etc/glance/metadefs), into the running server's database."""
    venv = glance_venv()
    glare = [sys.executable, "-m", "glare.cli", "--config", server.config]
    done = subprocess.run(glare + ["db", "load-metadefs", venv], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 files not loaded" in done.stdout
    names = [n.namespace for n in gc.metadefs_namespace.list()]
    assert "OS::Compute::Libvirt" in names
    libvirt = gc.metadefs_namespace.get("OS::Compute::Libvirt")
    assert libvirt.owner == "admin" and libvirt.visibility == "public"
    types = [r["name"] for r in gc.metadefs_resource_type.list()]
    assert {"OS::Glance::Image", "OS::Nova::Flavor",
            "OS::Cinder::Volume"} <= set(types)
    again = subprocess.run(glare + ["db", "load-metadefs", venv], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert " 0 namespaces loaded" in " " + again.stdout.splitlines()[-1]
