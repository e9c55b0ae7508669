"""Unified limits from a REAL Keystone (tests/keystone_server.py, the
Keystone of Glance 33's cycle in its own venv): registered and project
limits for Glare's endpoint, read by a real Glare server with
``use_keystone_limits`` through oslo.limit (a service user with the
system reader role, as Glance's install guide sets it up), reported by
``/v2/info/usage`` and enforced with Glance's 413.

Skips when the harness module or Keystone's venv is not there."""

import uuid

import pytest
import requests

from tests.conftest import database_url, glare_server

keystone_server = pytest.importorskip(
    "tests.keystone_server",
    reason="tests/keystone_server.py (the real Keystone harness) is absent")

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def keystone(tmp_path_factory):
    with keystone_server.keystone_with_users(
            tmp_path_factory.mktemp("keystone-limits")) as ks:
        yield ks


def _limits_setup(ks, name):
    """Glare's service ``name`` and its endpoint, its limits, a user
    ``name`` that reads them and a project with its own limit; returns
    (endpoint id, password, project id).  One Keystone serves every
    database's module run: each run registers its own service (registered
    limits are unique per service, region and resource)."""
    service_id = ks.register_service("image", name, "http://127.0.0.1:9/")
    endpoint_id = [e for e in ks._call(
        "GET", "/endpoints?service_id=%s" % service_id)["endpoints"]
        if e["interface"] == "public"][0]["id"]
    user_id, password = ks.add_user(name, "service", ["reader"])
    ks.grant_system_role(user_id, "reader")
    region = keystone_server.REGION
    ks._call("POST", "/registered_limits", registered_limits=[
        {"service_id": service_id, "region_id": region,
         "resource_name": name, "default_limit": value}
        for name, value in (("image_size_total", 1),
                            ("image_stage_total", 1),
                            ("image_count_total", 1),
                            ("image_count_uploading", 1))])
    project_id = ks.project("limits-" + uuid.uuid4().hex[:6])
    ks._call("POST", "/limits", limits=[
        {"service_id": service_id, "region_id": region,
         "project_id": project_id, "resource_name": "image_count_total",
         "resource_limit": 2}])
    return endpoint_id, password, project_id


@pytest.fixture(scope="module")
def setup(keystone, db_kind, tmp_path_factory):
    name = "glare-limits-%s" % db_kind
    endpoint_id, password, project_id = _limits_setup(keystone, name)
    tmp = tmp_path_factory.mktemp("ks-limits-%s" % db_kind)
    sections = ("\n[oslo_limit]\nendpoint_id = %s\nauth_type = password\n"
                "auth_url = %s\nusername = %s\npassword = %s\n"
                "user_domain_id = default\nsystem_scope = all\n"
                % (endpoint_id, keystone.auth_url, name, password))
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_conf="use_keystone_limits = true",
                          extra_sections=sections) as server:
            yield server, project_id


def headers(project_id):
    return {"X-Identity-Status": "Confirmed", "X-Project-Id": project_id,
            "X-User-Id": "u-" + project_id, "X-Roles": "member,reader"}


def test_keystone_limits_reported_and_enforced(setup):
    srv, project_id = setup
    who = headers(project_id)
    resp = requests.get(srv.url + "/v2/info/usage", headers=who, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"usage": {
        "image_size_total": {"limit": 1, "usage": 0},
        "image_stage_total": {"limit": 1, "usage": 0},
        "image_count_total": {"limit": 2, "usage": 0},
        "image_count_uploading": {"limit": 1, "usage": 0}}}
    body = {"name": "k", "disk_format": "raw", "container_format": "bare"}
    for _ in range(2):
        created = requests.post(srv.url + "/v2/images", json=body,
                                headers=who, timeout=60)
        assert created.status_code == 201, created.text
    resp = requests.post(srv.url + "/v2/images", json=body, headers=who,
                         timeout=60)
    assert resp.status_code == 413, resp.text
    assert "Resource image_count_total is over limit of 2 due to current " \
        "usage 2 and delta 1" in resp.text
    # Over image_size_total (1 MiB, the registered default) mid-stream.
    image_id = created.json()["id"]
    resp = requests.put(srv.url + "/v2/images/%s/file" % image_id,
                        data=iter([b"k" * MiB, b"k"]),
                        headers=dict(who, **{"Content-Type":
                                             "application/octet-stream"}),
                        timeout=60)
    assert resp.status_code == 413, resp.text
    assert "Resource image_size_total is over limit of 1" in resp.text
    shown = requests.get(srv.url + "/v2/images/" + image_id, headers=who,
                         timeout=60).json()
    assert (shown["status"], shown["size"]) == ("queued", None)
