"""glance_compat.usage: Glance's four unified-limits names over Glare's
quotas -- /v2/info/usage in Glance's shape and Glance's 413 words -- with
Glare's own quotas set by an admin at run time, and with Keystone's
unified limits (a requests-mock Keystone, tests/keystone_fake.py), through
the WSGI app on a migrated SQLite database."""

import io
import json

import pytest

from artifacts import quotas
from glance_compat import usage
from glare import config
from tests import wsgi_app

pytest.importorskip("oslo_limit")
from tests.keystone_fake import (OSLO_LIMIT, FakeKeystone,  # noqa: E402
                                 forget_session, requests_mock)

MiB = 1024 * 1024
ADMIN = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p-admin",
         "X-User-Id": "u-admin", "X-Roles": "admin,member,reader"}


def member(project):
    return {"X-Identity-Status": "Confirmed", "X-Project-Id": project,
            "X-User-Id": "u-" + project, "X-Roles": "member,reader"}


def build(root, default="", sections=""):
    path = root / "glare.conf"
    path.write_text("[DEFAULT]\n%s\n[database]\nconnection = sqlite:///%s\n"
                    "[glance_store]\nfilesystem_store_datadir = %s\n"
                    "[oslo_policy]\npolicy_file = /nonexistent.yaml\n%s"
                    % (default, root / "g.sqlite", root / "images",
                       sections))
    client = wsgi_app.client(config.load(str(path)))
    return client, client.engine


def create(client, project, name="img"):
    return client.post("/v2/images", headers=member(project), json={
        "name": name, "disk_format": "raw", "container_format": "bare"})


def put_data(client, project, image_id, where, size):
    return client.put("/v2/images/%s/%s" % (image_id, where),
                      headers=dict(member(project),
                                   **{"Content-Type":
                                      "application/octet-stream"}),
                      input_stream=io.BytesIO(b"x" * size),
                      content_length=size)


def get_usage(client, project):
    resp = client.get("/v2/info/usage", headers=member(project))
    assert resp.status_code == 200, resp.text
    return resp.get_json()


def test_glance_message_names_the_limit_in_glances_units():
    breach = quotas.Breach("stored_bytes", "images", "p1", 5 * MiB,
                           3 * MiB + 7, 3 * MiB)
    assert usage.glance_message(breach) == (
        "The request returned a 413 Request Entity Too Large. This "
        "generally means that rate limiting or a quota threshold was "
        "breached.\n\nThe response body:\nProject p1 is over a limit for "
        "[Resource image_size_total is over limit of 5 due to current "
        "usage 3 and delta 3]")
    # A quota Glance has no name for keeps the core's words.
    assert usage.glance_message(quotas.Breach(
        "stored_bytes", "", "p1", 1, 2, 0)) is None
    assert usage.glance_message(None) is None


@pytest.fixture(scope="module")
def glare_quotas(tmp_path_factory):
    return build(tmp_path_factory.mktemp("usage-glare"))[0]


def set_limits(client, project, **values):
    resp = client.put("/artifacts/quotas", headers=ADMIN, json={"quotas": [
        {"project_id": project, "type_name": "images", "name": name,
         "value": value} for name, value in values.items()]})
    assert resp.status_code == 200, resp.text


def test_usage_is_empty_without_limits_as_in_glance(glare_quotas):
    assert get_usage(glare_quotas, "p-none") == {"usage": {}}


def test_admin_set_limits_are_reported_and_enforced(glare_quotas):
    client, p = glare_quotas, "p-run-time"
    set_limits(client, p, stored_bytes=2 * MiB, staged_bytes=MiB,
               artifact_count=3, uploading_count=1)
    body = get_usage(client, p)
    assert body == {"usage": {
        "image_size_total": {"limit": 2, "usage": 0},
        "image_stage_total": {"limit": 1, "usage": 0},
        "image_count_total": {"limit": 3, "usage": 0},
        "image_count_uploading": {"limit": 1, "usage": 0}}}
    assert list(body["usage"]) == list(usage.NAMES)       # Glance's order
    first = create(client, p).get_json()["id"]
    assert put_data(client, p, first, "file", MiB).status_code == 204
    staged = create(client, p).get_json()["id"]
    assert put_data(client, p, staged, "stage", MiB).status_code == 204
    assert get_usage(client, p)["usage"] == {
        "image_size_total": {"limit": 2, "usage": 1},
        "image_stage_total": {"limit": 1, "usage": 1},
        "image_count_total": {"limit": 3, "usage": 2},
        "image_count_uploading": {"limit": 1, "usage": 1}}
    # A second image on its way is one too many (Glance counts it with
    # delta 0), and nothing of it stays.
    third = create(client, p).get_json()["id"]
    resp = put_data(client, p, third, "stage", 10)
    assert resp.status_code == 413, resp.text
    assert "Resource image_count_uploading is over limit of 1 due to " \
        "current usage 2 and delta 0" in resp.text
    assert "Project %s is over a limit" % p in resp.text
    shown = client.get("/v2/images/" + third, headers=member(p)).get_json()
    assert (shown["status"], shown["size"]) == ("queued", None)
    # A fourth image is over image_count_total.
    resp = create(client, p)
    assert resp.status_code == 413, resp.text
    assert "Resource image_count_total is over limit of 3 due to current " \
        "usage 3 and delta 1" in resp.text
    listed = client.get("/v2/images", headers=member(p)).get_json()
    assert len(listed["images"]) == 3
    # The import moves the staged MiB into the store: stage usage goes,
    # size usage comes; then an upload over image_size_total stops.
    resp = client.post("/v2/images/%s/import" % staged, headers=member(p),
                       json={"method": {"name": "glance-direct"}})
    assert resp.status_code == 202, resp.text
    assert get_usage(client, p)["usage"]["image_stage_total"]["usage"] == 0
    assert get_usage(client, p)["usage"]["image_size_total"]["usage"] == 2
    resp = put_data(client, p, third, "file", MiB)
    assert resp.status_code == 413, resp.text
    assert "Resource image_size_total is over limit of 2 due to current " \
        "usage 2 and delta 1" in resp.text
    assert get_usage(client, p)["usage"]["image_size_total"]["usage"] == 2


def test_staging_over_image_stage_total(glare_quotas):
    client, p = glare_quotas, "p-stage"
    set_limits(client, p, staged_bytes=MiB)
    image = create(client, p).get_json()["id"]
    resp = put_data(client, p, image, "stage", 2 * MiB)
    assert resp.status_code == 413, resp.text
    assert "Resource image_stage_total is over limit of 1" in resp.text
    assert get_usage(client, p)["usage"]["image_stage_total"] == {
        "limit": 1, "usage": 0}
    shown = client.get("/v2/images/" + image, headers=member(p)).get_json()
    assert shown["status"] == "queued"


@pytest.fixture
def keystone_app(tmp_path):
    with requests_mock.Mocker() as mock:
        keystone = FakeKeystone(mock)
        client, engine = build(tmp_path, "use_keystone_limits = true",
                               OSLO_LIMIT)
        yield client, keystone, engine
    forget_session()


def test_keystone_limits_are_reported_and_enforced(keystone_app):
    client, keystone, _engine = keystone_app
    keystone.registered = {"image_size_total": 5, "image_stage_total": 4,
                           "image_count_total": 1,
                           "image_count_uploading": -1}
    keystone.project = {("p-ks", "image_size_total"): 10}
    assert get_usage(client, "p-ks") == {"usage": {
        "image_size_total": {"limit": 10, "usage": 0},
        "image_stage_total": {"limit": 4, "usage": 0},
        "image_count_total": {"limit": 1, "usage": 0},
        "image_count_uploading": {"limit": -1, "usage": 0}}}
    assert create(client, "p-ks").status_code == 201
    resp = create(client, "p-ks")
    assert resp.status_code == 413, resp.text
    assert "Resource image_count_total is over limit of 1 due to current " \
        "usage 1 and delta 1" in resp.text
    # Glare's own value for a scope Keystone manages cannot be set.
    resp = client.put("/artifacts/quotas", headers=ADMIN, json={"quotas": [
        {"project_id": "p-ks", "type_name": "images",
         "name": "artifact_count", "value": 5}]})
    assert resp.status_code == 400, resp.text
    assert "Keystone" in json.dumps(resp.get_json())


def test_keystone_down_is_503_not_unlimited(keystone_app):
    client, keystone, engine = keystone_app
    engine.quotas.external.forget()
    keystone.mock.get("http://keystone.test:5000/v3/limits",
                      status_code=500, json={"error": {"code": 500}})
    forget_session()
    resp = create(client, "p-down")
    assert resp.status_code == 503, resp.text
    assert "Keystone" in resp.text
