"""glance-download between two real Glare servers.

The remote region is one Glare with a token map (its image is private to
the project of ``tok-remote``, so the import can only read it with the
caller's token); the local one trusts identity headers (as behind
keystonemiddleware) and is sent the caller's ``X-Service-Catalog`` naming
the remote's URL as region ``RegionTwo``'s image endpoint.  The local
Glare's ``[import_filtering_opts]`` names the remote's loopback host and
port, the only way it fetches from 127.0.0.1.
"""

import hashlib
import json
import os
import time

import pytest
import requests

from tests.conftest import database_url, glare_server
from tests.integration.helpers import create_image, get_image, unique

pytestmark = pytest.mark.integration

DATA = os.urandom(2 * 1024 * 1024 + 5)
REMOTE_TOKEN = {"X-Auth-Token": "tok-remote"}
CALLER = {"X-Identity-Status": "Confirmed", "X-Project-Id": "proj-l",
          "X-User-Id": "user-l", "X-Roles": "member,reader",
          "X-Auth-Token": "tok-remote"}
MISSING = "0b9a3b8c-6a55-4b8e-9a5e-2f3c1d0e4a77"


@pytest.fixture(scope="module")
def remote(db_kind, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gdl-remote-%s" % db_kind)
    sections = ("[noauth]\ntoken_map = tok-remote=proj-r:user-r:member,"
                "reader\n")
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_sections=sections) as srv:
            yield srv


@pytest.fixture(scope="module")
def local(db_kind, remote, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gdl-local-%s" % db_kind)
    port = remote.url.rsplit(":", 1)[1]
    policy = tmp / "policy.yaml"
    policy.write_text('"tasks_api_access": "role:admin or role:member"\n')
    extra = ("enabled_import_methods = [glance-direct,web-download,"
             "copy-image,glance-download]\n")
    sections = ("[import_filtering_opts]\nallowed_hosts = 127.0.0.1\n"
                "allowed_ports = %s\n[oslo_policy]\npolicy_file = %s\n"
                "[glance_download_properties]\n"
                "extra_properties = [hw_,os_distro,custom_]\n"
                % (port, policy))
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_conf=extra,
                          extra_sections=sections) as srv:
            yield srv


def catalog_for(url, region="RegionTwo"):
    return json.dumps([{"type": "image", "name": "glance", "endpoints": [
        {"region": "RegionOne", "publicURL": "http://127.0.0.1:9"},
        {"region": region, "publicURL": url, "internalURL": url}]}])


@pytest.fixture(scope="module")
def remote_image(remote):
    image = create_image(remote.url, headers=REMOTE_TOKEN,
                         name=unique("remote"), disk_format="raw",
                         container_format="bare", hw_disk_bus="scsi",
                         os_distro="ubuntu", custom_note="kept",
                         architecture="x86_64")
    resp = requests.put(remote.url + "/v2/images/%s/file" % image["id"],
                        data=DATA, headers=dict(
                            REMOTE_TOKEN,
                            **{"Content-Type": "application/octet-stream"}),
                        timeout=60)
    assert resp.status_code == 204, resp.text
    return get_image(remote.url, image["id"], REMOTE_TOKEN).json()


def _import(local, image_id, method, catalog):
    headers = dict(CALLER, Accept="application/json")
    if catalog is not None:
        headers["X-Service-Catalog"] = catalog
    return requests.post(local.url + "/v2/images/%s/import" % image_id,
                         json={"method": dict(method,
                                              name="glance-download")},
                         headers=headers, timeout=30)


def _task_end(local, image_id):
    deadline = time.time() + 60
    while True:
        tasks = requests.get(local.url + "/v2/images/%s/tasks" % image_id,
                             headers=CALLER, timeout=30).json()["tasks"]
        image = get_image(local.url, image_id, CALLER).json()
        if tasks and tasks[-1]["status"] in ("success", "failure") and \
                not image.get("os_glance_import_task"):
            return tasks[-1], image
        assert time.time() < deadline, (tasks, image)
        time.sleep(0.2)


def test_info_import_offers_glance_download(local):
    info = requests.get(local.url + "/v2/info/import", headers=CALLER,
                        timeout=30).json()
    assert info["import-methods"]["value"] == [
        "glance-direct", "web-download", "copy-image", "glance-download"]


def test_glance_download_copies_bytes_hashes_and_properties(
        local, remote, remote_image):
    image = create_image(local.url, headers=CALLER, name=unique("local"),
                         disk_format="qcow2", container_format="ovf")
    resp = _import(local, image["id"], {
        "glance_region": "regiontwo", "glance_image_id": remote_image["id"]},
        catalog_for(remote.url))
    assert resp.status_code == 202, resp.text
    task, done = _task_end(local, image["id"])
    assert task["status"] == "success", task
    assert task["message"] == "Copied 2 MiB"
    # The interface Glance defaults to is recorded in the task's input.
    assert task["input"]["import_req"]["method"][
        "glance_service_interface"] == "public"
    assert done["status"] == "active"
    assert done["size"] == len(DATA) == remote_image["size"]
    assert done["checksum"] == hashlib.md5(DATA).hexdigest() \
        == remote_image["checksum"]
    assert done["os_hash_value"] == remote_image["os_hash_value"]
    assert (done["disk_format"], done["container_format"]) == ("raw",
                                                               "bare")
    # The configured prefixes are copied; other properties are not.
    assert (done["hw_disk_bus"], done["os_distro"], done["custom_note"]) \
        == ("scsi", "ubuntu", "kept")
    assert "architecture" not in done
    assert done["os_glance_failed_import"] == ""
    got = requests.get(local.url + "/v2/images/%s/file" % image["id"],
                       headers=CALLER, timeout=60)
    assert got.content == DATA


@pytest.mark.parametrize("method,catalog,message", [
    ({"glance_region": "RegionThree"}, "remote",
     "public glance endpoint not found for region RegionThree"),
    ({"glance_region": "RegionTwo", "glance_service_interface": "admin"},
     "remote", "admin glance endpoint not found for region RegionTwo"),
    # Embedded mode without a catalog: no endpoint is found.
    ({"glance_region": "RegionTwo"}, None,
     "public glance endpoint not found for region RegionTwo"),
])
def test_no_endpoint_fails_the_task_and_queues_the_image(
        local, remote, remote_image, method, catalog, message):
    image = create_image(local.url, headers=CALLER, name=unique("local"))
    resp = _import(local, image["id"], dict(
        method, glance_image_id=remote_image["id"]),
        catalog_for(remote.url) if catalog else None)
    assert resp.status_code == 202, resp.text
    task, after = _task_end(local, image["id"])
    assert (task["status"], task["message"]) == ("failure", message)
    assert after["status"] == "queued"
    assert after["os_glance_importing_to_stores"] == ""


def test_remote_image_not_active_fails_and_keeps_the_local_image(
        local, remote):
    queued = create_image(remote.url, headers=REMOTE_TOKEN,
                          name=unique("remote"), os_distro="debian")
    image = create_image(local.url, headers=CALLER, name=unique("local"),
                         disk_format="qcow2", container_format="ovf")
    resp = _import(local, image["id"], {"glance_region": "RegionTwo",
                                        "glance_image_id": queued["id"]},
                   catalog_for(remote.url))
    assert resp.status_code == 202
    task, after = _task_end(local, image["id"])
    assert (task["status"], task["message"]) == (
        "failure", "Source image status should be active instead of queued")
    assert after["status"] == "queued" and "os_distro" not in after
    assert (after["disk_format"], after["container_format"]) == ("qcow2",
                                                                 "ovf")


def test_a_remote_image_the_token_cannot_see_fails_the_task(local, remote):
    image = create_image(local.url, headers=CALLER, name=unique("local"))
    resp = _import(local, image["id"], {"glance_region": "RegionTwo",
                                        "glance_image_id": MISSING},
                   catalog_for(remote.url))
    assert resp.status_code == 202
    task, after = _task_end(local, image["id"])
    assert task["status"] == "failure"
    assert "HTTP Error 404" in task["message"]
    assert after["status"] == "queued"


@pytest.mark.parametrize("method,message", [
    ({"glance_region": "RegionTwo"},
     "'glance_image_id' needs to be set for glance-download import method"),
    ({"glance_image_id": MISSING},
     "'glance_region' needs to be set for glance-download import method"),
    ({"glance_region": "RegionTwo", "glance_image_id": "x1"},
     "Remote image id does not look like a UUID: x1"),
])
def test_bad_requests_are_400_with_glances_words(local, remote, method,
                                                 message):
    image = create_image(local.url, headers=CALLER, name=unique("local"))
    resp = _import(local, image["id"], method, catalog_for(remote.url))
    assert resp.status_code == 400, resp.text
    assert message in resp.text
    after = get_image(local.url, image["id"], CALLER).json()
    assert after["status"] == "queued"
    assert not after.get("os_glance_import_task")
