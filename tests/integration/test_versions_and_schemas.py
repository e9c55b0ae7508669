"""Version discovery, schemas, request ids and the health check, over HTTP."""

import json
import uuid

import pytest
import requests
import warlock

from tests.integration.helpers import ADMIN, create_image, unique, upload

pytestmark = pytest.mark.integration


def check_document(server, body):
    versions = body["versions"]
    assert versions, body
    ids = [v["id"] for v in versions]
    assert "v2.0" in ids and "v2.1" in ids
    assert all(i.startswith("v2.") for i in ids)
    statuses = [v["status"] for v in versions]
    assert statuses[0] == "CURRENT"
    assert set(statuses[1:]) <= {"SUPPORTED"}
    for version in versions:
        assert list(version) == ["id", "status", "links"]
        assert version["links"] == [{"rel": "self",
                                     "href": server.url + "/v2/"}]
    return ids


def test_root_is_300_without_token(server):
    resp = requests.get(server.url + "/", timeout=30,
                        headers={"Accept": "application/json"})
    assert resp.status_code == 300
    assert resp.headers["Content-Type"].startswith("application/json")
    check_document(server, resp.json())
    # Any unknown version or unversioned path gets the same document.
    for path in ("/v3/images", "/images", "/v2.99/images"):
        other = requests.get(server.url + path, timeout=30)
        assert other.status_code == 300, path
        assert other.json() == resp.json()


def test_versions_is_200(server):
    resp = requests.get(server.url + "/versions", timeout=30)
    assert resp.status_code == 200
    ids = check_document(server, resp.json())
    root = requests.get(server.url + "/", timeout=30).json()
    assert resp.json() == root
    # glanceclient's version probe: the same with a token.
    assert requests.get(server.url + "/versions", headers=ADMIN,
                        timeout=30).json()["versions"][0]["id"] == ids[0]


def test_minor_version_urls(server):
    image = create_image(server.url, name=unique("v21"))
    ids = [v["id"] for v in requests.get(server.url + "/versions",
                                         timeout=30).json()["versions"]]
    for version in ["v2"] + ids:
        resp = requests.get(server.url + "/%s/images/%s" % (version,
                                                            image["id"]),
                            headers=ADMIN, timeout=30)
        assert resp.status_code == 200, version
        assert resp.json()["id"] == image["id"]
    listing = requests.get(server.url + "/v2.1/images",
                           params={"name": image["name"]}, headers=ADMIN,
                           timeout=30)
    assert listing.status_code == 200
    body = listing.json()
    assert [i["id"] for i in body["images"]] == [image["id"]]
    # Links are always /v2/..., whatever version the request used.
    assert body["first"].startswith("/v2/images")
    assert body["images"][0]["self"] == "/v2/images/" + image["id"]
    # PATCH through a minor-version URL.
    patched = requests.patch(
        server.url + "/v2.1/images/" + image["id"],
        json=[{"op": "add", "path": "/via", "value": "v2.1"}],
        headers=dict(ADMIN, **{"Content-Type":
                               "application/openstack-images-v2.1-json-patch"}),
        timeout=30)
    assert patched.status_code == 200
    assert patched.json()["via"] == "v2.1"


def test_version_root_redirects(server):
    resp = requests.get(server.url + "/v2", headers=ADMIN, timeout=30,
                        allow_redirects=False)
    assert resp.status_code == 302
    assert resp.headers["Location"] == server.url + "/v2/"


@pytest.mark.parametrize("name", ["image", "images", "member", "members"])
def test_schemas_served(server, name):
    resp = requests.get(server.url + "/v2/schemas/" + name, headers=ADMIN,
                        timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    schema = resp.json()
    assert schema["name"] == name
    assert isinstance(schema["properties"], dict)


def test_image_schema_usable_by_warlock(server):
    schema = requests.get(server.url + "/v2/schemas/image", headers=ADMIN,
                          timeout=30).json()
    # glanceclient's rules: no top-level `required`, extra properties are
    # strings.
    assert "required" not in schema
    assert schema["additionalProperties"] == {"type": "string"}
    Image = warlock.model_factory(schema)

    empty = Image()  # what glanceclient validates first on create
    empty.name = "ok"
    empty.min_ram = 5
    empty.os_distro = "debian"
    with pytest.raises(warlock.InvalidOperation):
        empty.min_ram = "five"
    with pytest.raises(warlock.InvalidOperation):
        empty.visibility = "everyone"
    with pytest.raises(warlock.InvalidOperation):
        empty.custom = 7  # extra properties must be strings

    # Real server bodies validate, queued (nulls) and active alike.
    queued = create_image(server.url, name=unique("schema"), extra="1",
                          tags=["a"])
    # glanceclient pops `self` before building its model.
    queued.pop("self")
    model = Image(**queued)
    assert model.status == "queued"
    active = create_image(server.url, name=unique("schema"))
    assert upload(server.url, active["id"], b"abc").status_code == 204
    body = requests.get(server.url + "/v2/images/" + active["id"],
                        headers=ADMIN, timeout=30).json()
    body.pop("self")
    model = Image(**body)
    assert model.checksum == body["checksum"]
    # ... and the PATCH glanceclient would generate from the model.
    model.name = "renamed"
    assert {"op": "replace", "path": "/name", "value": "renamed"} in \
        json.loads(model.patch)

    listing = requests.get(server.url + "/v2/images", headers=ADMIN,
                           params={"limit": 50}, timeout=30).json()
    images_schema = requests.get(server.url + "/v2/schemas/images",
                                 headers=ADMIN, timeout=30).json()
    Images = warlock.model_factory(images_schema)
    Images(**listing)
    assert listing["images"]
    for item in listing["images"]:
        item.pop("self")
        Image(**item)


def test_member_schema_validates_member_bodies(server):
    Member = warlock.model_factory(requests.get(
        server.url + "/v2/schemas/member", headers=ADMIN,
        timeout=30).json())
    image = create_image(server.url, name=unique("members"))
    resp = requests.post(server.url + "/v2/images/%s/members" % image["id"],
                         json={"member": "some-project"}, headers=ADMIN,
                         timeout=30)
    assert resp.status_code == 200
    member = Member(**resp.json())
    assert member.status == "pending"
    assert set(member) <= {"member_id", "image_id", "status", "created_at",
                           "updated_at", "schema"}
    with pytest.raises(ValueError):
        Member(**dict(resp.json(), status="bogus"))


def test_request_id_echo(server):
    offered = "req-" + str(uuid.uuid4())
    for path in ("/v2/images?limit=1", "/v2/images/nope",
                 "/v2/schemas/image"):
        resp = requests.get(server.url + path, timeout=30,
                            headers=dict(ADMIN, **{
                                "X-Openstack-Request-Id": offered}))
        assert resp.headers["x-openstack-request-id"] == offered, path
    # Without the req- prefix it is added.
    bare = str(uuid.uuid4())
    resp = requests.get(server.url + "/v2/images?limit=1", timeout=30,
                        headers=dict(ADMIN, **{
                            "X-OpenStack-Request-ID": bare}))
    assert resp.headers["x-openstack-request-id"] == "req-" + bare
    # Unusable ids are replaced by a fresh one, never echoed.
    for bad in ("x" * 100, "req-<script>", "a b"):
        resp = requests.get(server.url + "/v2/images?limit=1", timeout=30,
                            headers=dict(ADMIN, **{
                                "X-Openstack-Request-Id": bad}))
        got = resp.headers["x-openstack-request-id"]
        assert got != bad and got.startswith("req-")
    # Fresh ids differ per request.
    a = requests.get(server.url + "/v2/images?limit=1", headers=ADMIN)
    b = requests.get(server.url + "/v2/images?limit=1", headers=ADMIN)
    assert a.headers["x-openstack-request-id"] != \
        b.headers["x-openstack-request-id"]


def test_healthcheck(server):
    resp = requests.get(server.url + "/healthcheck", timeout=30)
    assert resp.status_code == 200
    assert resp.text == "OK"
    head = requests.head(server.url + "/healthcheck", timeout=30)
    assert head.status_code == 200
