"""Glance's locations surface on Glare, driven by real clients: the
glanceclient library (``add_location``, ``update_location``,
``delete_locations``, ``add_image_location``, ``get_image_locations``),
the ``glance`` CLI (``location-add``, ``location-update``,
``location-delete``, ``add-location``, ``image-show``) and openstacksdk
(``add_image_location``, ``image_locations``), with
``show_multiple_locations`` and ``show_image_direct_url`` on, several
stores (two filesystem, an http store served by a real web server in this
process, a Ceph store Glare only names), on every database of the matrix.

Identities come from ``[noauth] token_map``: an admin, a member of the
owning project, a service user (Nova's service token) and an operator
with both admin and service roles.  Bad input gets Glance's 4xx and leaves
the image as it was.
"""

import functools
import hashlib
import io
import http.server
import json
import os
import subprocess
import sys
import threading
import time

import glanceclient
import openstack.connection
import pytest
import requests

from tests.conftest import database_url, glare_server
from tests.integration.helpers import IMAGE_PATCH, unique

pytestmark = pytest.mark.integration

GLANCE = os.path.join(os.path.dirname(sys.executable), "glance")
DATA = os.urandom(1024 * 1024 + 33)
MD5 = hashlib.md5(DATA).hexdigest()
SHA512 = hashlib.sha512(DATA).hexdigest()
PROJECT = "proj-locations"
# "service": a user's token with Nova's service token (Glance adds the
# service token's roles to the user's).
TOKENS = {"admin": "admin,member,reader", "member": "member,reader",
          "service": "member,reader,service",
          "ops": "admin,member,reader,service"}
QUOTA = 3


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """A real web server (the http store's data) on 127.0.0.1."""
    root = tmp_path_factory.mktemp("web")
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.root = root
    httpd.url = "http://127.0.0.1:%d" % httpd.server_port
    yield httpd
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(db_kind, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("locations-%s" % db_kind)
    token_map = ";".join("%s=%s:%s:%s" % (token, PROJECT, token, roles)
                         for token, roles in TOKENS.items())
    extra = ("enabled_backends = fast:file, cold:file, web:http, ceph:rbd\n"
             "show_multiple_locations = true\n"
             "show_image_direct_url = true\n"
             "image_location_quota = %d\n" % QUOTA)
    sections = (
        "\n[glance_store]\ndefault_backend = fast\n"
        "\n[fast]\nfilesystem_store_datadir = %s\nweight = 100\n"
        "\n[cold]\nfilesystem_store_datadir = %s\nweight = 50\n"
        # The web server of this test is on the loopback address.
        "\n[web]\nhttp_internal_hosts = 127.0.0.1\n"
        "\n[noauth]\ntoken_map = %s\n" % (tmp / "fast", tmp / "cold",
                                           token_map))
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_conf=extra,
                          extra_sections=sections) as srv:
            srv.stores = tmp
            yield srv


def client(server, who="admin"):
    return glanceclient.Client("2", endpoint=server.url, token=who)


def put_file(server, store, data=DATA):
    """A file in a store's directory, as an operator would place it."""
    directory = os.path.realpath(server.stores / store)
    path = os.path.join(directory, "placed-" + unique())
    with open(path, "wb") as f:
        f.write(data)
    return "file://" + path


def new_image(gc):
    return gc.images.create(name=unique(), disk_format="raw",
                            container_format="bare")


def raw(server, image_id, who="admin"):
    return requests.get(server.url + "/v2/images/%s" % image_id,
                        headers={"X-Auth-Token": who}, timeout=30).json()


def patch(server, image_id, ops, who="member"):
    return requests.patch(server.url + "/v2/images/%s" % image_id,
                          data=json.dumps(ops), timeout=30,
                          headers={"X-Auth-Token": who,
                                   "Content-Type": IMAGE_PATCH})


def wait(server, image_id, done, timeout=30):
    deadline = time.time() + timeout
    while True:
        image = raw(server, image_id)
        if done(image) or time.time() > deadline:
            return image
        time.sleep(0.2)


def unlocked(image):
    return "os_glance_import_task" not in image


# ------------------------------------------------------ glanceclient (PATCH)


def test_glanceclient_adds_updates_and_deletes_locations(server, web):
    admin = client(server)
    image = new_image(admin)
    url = put_file(server, "cold")
    # The first location makes the queued image active, its size from the
    # store and its hashes from validation_data.
    got = admin.images.add_location(image.id, url, {}, validation_data={
        "checksum": MD5, "os_hash_algo": "sha512", "os_hash_value": SHA512})
    assert got.status == "active" and got.size == len(DATA)
    assert (got.checksum, got.os_hash_value) == (MD5, SHA512)
    assert got.locations == [{"url": url, "metadata": {"store": "cold"}}]
    assert got.direct_url == url and got.stores == "cold"
    # glanceclient checks the hashes while downloading.
    assert b"".join(admin.images.data(image.id)) == DATA

    (web.root / image.id).write_bytes(DATA)
    web_url = "%s/%s" % (web.url, image.id)
    got = admin.images.add_location(image.id, web_url, {"mirror": "yes"})
    assert [loc["url"] for loc in got.locations] == [url, web_url]
    assert got.locations[1]["metadata"] == {"mirror": "yes", "store": "web"}

    got = admin.images.update_location(image.id, web_url, {"mirror": "no"})
    assert got.locations[1]["metadata"] == {"mirror": "no", "store": "web"}

    # The cold copy goes (its file with it); the web server's data stays
    # and serves the image.
    admin.images.delete_locations(image.id, {url})
    got = admin.images.get(image.id)
    assert got.locations == [{"url": web_url,
                              "metadata": {"mirror": "no", "store": "web"}}]
    assert not os.path.exists(url[len("file://"):])
    assert b"".join(admin.images.data(image.id)) == DATA
    with pytest.raises(glanceclient.exc.HTTPForbidden) as info:
        admin.images.delete_locations(image.id, {web_url})
    assert "Cannot remove last location in the image." in str(info.value)
    admin.images.delete(image.id)
    assert (web.root / image.id).exists()


def test_a_member_adds_a_foreign_location_nova_style(server):
    """Nova's rbd snapshot before the v2.17 API: a member (the image's
    project) adds an rbd:// location to the queued image."""
    member = client(server, "member")
    image = new_image(member)
    rbd = "rbd://fsid/images/%s/snap" % image.id
    got = member.images.add_location(image.id, rbd, {})
    assert got.status == "active"
    assert got.locations == [{"url": rbd, "metadata": {"store": "ceph"}}]
    assert got.direct_url == rbd


# -------------------------------------------------------------- bad input


def _bad_urls(server, image_id):
    cold = os.path.realpath(server.stores / "cold")
    escaping = server.stores / "secret"
    escaping.write_bytes(DATA)
    link = os.path.join(cold, "link-" + unique())
    os.symlink(str(escaping), link)
    return {
        "outside every store": "file:///etc/passwd",
        "escaping with ..": "file://%s/../secret" % cold,
        "escaping with a symlink": "file://" + link,
        "unknown scheme": "gopher://example.com/%s" % image_id,
        "no such file": "file://%s/missing" % cold,
    }


@pytest.mark.parametrize("who", ["member", "admin"])
def test_bad_locations_are_400_and_change_nothing(server, who):
    gc = client(server, who)
    image = new_image(gc)
    before = raw(server, image.id)
    for why, url in _bad_urls(server, image.id).items():
        with pytest.raises(glanceclient.exc.HTTPBadRequest) as info:
            gc.images.add_location(image.id, url, {})
        assert "Invalid location" in str(info.value), why
    assert raw(server, image.id) == before


def test_a_tenant_may_not_name_glares_own_data(server):
    member = client(server, "member")
    other = new_image(member)
    member.images.upload(other.id, io.BytesIO(DATA))
    own = member.images.get(other.id).locations[0]["url"]
    image = new_image(member)
    for url in (own, put_file(server, "cold")):
        resp = patch(server, image.id, [{"op": "add", "path": "/locations/-",
                                         "value": {"url": url,
                                                   "metadata": {}}}])
        assert resp.status_code == 400
        assert "Invalid location" in resp.text
    # Not even the administrator shares another image's data.
    resp = patch(server, image.id, [{"op": "add", "path": "/locations/-",
                                     "value": {"url": own, "metadata": {}}}],
                 who="admin")
    assert resp.status_code == 400
    assert raw(server, image.id)["status"] == "queued"


def test_hash_mismatch_quota_and_last_location(server):
    admin = client(server)
    image = new_image(admin)
    admin.images.upload(image.id, io.BytesIO(DATA))
    before = raw(server, image.id)
    url = put_file(server, "cold")
    resp = patch(server, image.id, [{"op": "add", "path": "/locations/-",
                                     "value": {"url": url, "metadata": {},
                                               "validation_data": {
                                                   "os_hash_algo": "sha512",
                                                   "os_hash_value": "0" *
                                                   128}}}], who="admin")
    assert resp.status_code == 409
    assert "os_hash_value is already set with a different value" in \
        resp.text
    # Data of another size is no copy of this image.
    short = put_file(server, "cold", DATA[:100])
    resp = patch(server, image.id, [{"op": "add", "path": "/locations/-",
                                     "value": {"url": short,
                                               "metadata": {}}}],
                 who="admin")
    assert resp.status_code == 400
    resp = patch(server, image.id, [{"op": "remove",
                                     "path": "/locations/0"}], who="admin")
    assert resp.status_code == 403
    assert "Cannot remove last location in the image." in resp.text
    assert raw(server, image.id) == before
    # image_location_quota: the fourth location is one too many.
    for _ in range(QUOTA - 1):
        admin.images.add_location(image.id, put_file(server, "cold"), {})
    with pytest.raises(glanceclient.exc.HTTPOverLimit) as info:
        admin.images.add_location(image.id, put_file(server, "cold"), {})
    assert "Attempted: %d, Maximum: %d" % (QUOTA + 1, QUOTA) in str(
        info.value)


def test_removing_a_location_is_admin_only(server):
    admin, member = client(server), client(server, "member")
    image = new_image(member)
    member.images.upload(image.id, io.BytesIO(DATA))
    admin.images.add_location(image.id, put_file(server, "cold"), {})
    with pytest.raises(glanceclient.exc.HTTPForbidden):
        member.images.delete_locations(
            image.id, {member.images.get(image.id).locations[1]["url"]})
    assert len(member.images.get(image.id).locations) == 2


# ------------------------------------------------------------- the CLI


def glance(server, *args, token="admin", check=True):
    env = dict(os.environ, OS_IMAGE_URL=server.url, OS_AUTH_TOKEN=token)
    return subprocess.run([GLANCE, *args], env=env, check=check,
                          capture_output=True, text=True)


def test_glance_cli_location_commands(server):
    image = new_image(client(server))
    url, other = put_file(server, "cold"), put_file(server, "fast")
    glance(server, "location-add", "--url", url, "--checksum", MD5,
           "--hash-algo", "sha512", "--hash-value", SHA512, image.id)
    got = raw(server, image.id)
    assert (got["status"], got["checksum"], got["direct_url"]) == (
        "active", MD5, url)
    glance(server, "location-add", "--url", other, image.id)
    glance(server, "location-update", "--url", other, "--metadata",
           '{"tier": "hot"}', image.id)
    assert raw(server, image.id)["locations"][0] == {
        "url": other, "metadata": {"tier": "hot", "store": "fast"}}
    glance(server, "location-delete", "--url", url, image.id)
    shown = glance(server, "--os-image-api-version", "2", "image-show",
                   "--human-readable", image.id).stdout
    assert "direct_url" in shown and "locations" in shown
    assert [loc["url"] for loc in raw(server, image.id)["locations"]] == [
        other]
    failed = glance(server, "location-delete", "--url", other, image.id,
                    check=False)
    assert failed.returncode != 0
    assert "Cannot remove last location in the image." in failed.stderr
    failed = glance(server, "location-add", "--url", "file:///etc/passwd",
                    image.id, check=False)
    assert failed.returncode != 0 and "Invalid location" in failed.stderr


# --------------------------------------------- the v2.17 location API


def test_glanceclient_add_image_location_checks_the_hash(server):
    ops = client(server, "ops")
    image = new_image(ops)
    url = put_file(server, "cold")
    ops.images.add_image_location(image.id, url, validation_data={
        "os_hash_algo": "sha512", "os_hash_value": SHA512})
    got = wait(server, image.id, unlocked)
    assert got["status"] == "active"
    assert (got["size"], got["checksum"], got["os_hash_value"]) == (
        len(DATA), MD5, SHA512)
    locations = ops.images.get_image_locations(image.id)
    assert locations == [{"url": url, "metadata": {"store": "cold"}}]
    assert b"".join(ops.images.data(image.id)) == DATA


def image_tasks(server, image_id):
    resp = requests.get(server.url + "/v2/images/%s/tasks" % image_id,
                        headers={"X-Auth-Token": "ops",
                                 "OpenStack-API-Version": "image 2.17"},
                        timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["tasks"]


@pytest.mark.parametrize("matches", [True, False])
def test_a_registration_is_a_location_import_task(server, matches):
    """As in Glance, the v2.17 POST starts a ``location_import`` task that
    GET /v2/images/{id}/tasks lists from the 202 on (Tempest waits for it
    to succeed, then expects the image active) and that ends with the
    registration: success, or failure when the hash differs."""
    ops = client(server, "ops")
    image = new_image(ops)
    url = put_file(server, "cold")
    digest = SHA512 if matches else "0" * 128
    ops.images.add_image_location(image.id, url, validation_data={
        "os_hash_algo": "sha512", "os_hash_value": digest})
    tasks = image_tasks(server, image.id)
    assert [t["type"] for t in tasks] == ["location_import"]
    assert tasks[0]["status"] in ("processing", "success", "failure")
    assert tasks[0]["input"]["loc_url"] == url
    deadline = time.time() + 30
    while tasks[0]["status"] == "processing" and time.time() < deadline:
        time.sleep(0.2)
        tasks = image_tasks(server, image.id)
    assert tasks[0]["status"] == ("success" if matches else "failure")
    # Once the task has ended the image is in its final state, and the
    # import lock is free (a live task used to keep it held for ever).
    shown = raw(server, image.id)
    assert shown["status"] == ("active" if matches else "queued")
    assert "os_glance_import_task" not in shown


def test_a_hash_that_does_not_match_leaves_the_image_queued(server):
    ops = client(server, "ops")
    image = new_image(ops)
    url = put_file(server, "cold")
    ops.images.add_image_location(image.id, url, validation_data={
        "os_hash_algo": "sha512", "os_hash_value": "0" * 128})
    got = wait(server, image.id, unlocked)
    assert got["status"] == "queued" and got["locations"] == []
    assert got["os_hash_value"] is None and got["size"] is None
    # The data was never Glare's: it is still there.
    assert os.path.exists(url[len("file://"):])


def test_a_service_registers_ceph_data_and_reads_locations(server):
    """Nova with a service token: rbd data registered (Glare cannot read
    Ceph, so the hash is taken on trust), then GET /locations."""
    member, service = client(server, "member"), client(server, "service")
    image = new_image(member)
    rbd = "rbd://fsid/images/%s/snap" % image.id
    service.images.add_image_location(image.id, rbd, validation_data={
        "os_hash_algo": "sha512", "os_hash_value": SHA512})
    got = wait(server, image.id, unlocked)
    assert got["status"] == "active" and got["os_hash_value"] == SHA512
    locations = service.images.get_image_locations(image.id)
    assert locations == [{"url": rbd, "metadata": {"store": "ceph"}}]
    with pytest.raises(glanceclient.exc.HTTPForbidden):
        member.images.get_image_locations(image.id)
    # Only a queued image takes one.
    with pytest.raises(glanceclient.exc.HTTPConflict):
        service.images.add_image_location(image.id, rbd)


def test_a_member_needs_the_http_store_for_the_location_api(server):
    member = client(server, "member")
    image = new_image(member)
    with pytest.raises(glanceclient.exc.HTTPForbidden) as info:
        member.images.add_image_location(image.id, "rbd://fsid/p/i/s")
    assert "http store must be enabled" in str(info.value)
    # An http store is configured: a member may name an http URL, which
    # must pass the external-URL policy (no loopback address).
    with pytest.raises(glanceclient.exc.HTTPBadRequest) as info:
        member.images.add_image_location(image.id, "http://127.0.0.1/x")
    assert "does not pass filtering" in str(info.value)


def test_glance_cli_add_location(server):
    image = new_image(client(server, "ops"))
    url = put_file(server, "cold")
    glance(server, "add-location", "--url", url, "--validation-data",
           json.dumps({"os_hash_algo": "sha512", "os_hash_value": SHA512}),
           image.id, token="ops")
    got = wait(server, image.id, unlocked)
    assert got["status"] == "active" and got["checksum"] == MD5


def test_openstacksdk_location_api(server):
    conn = openstack.connection.Connection(
        auth_type="admin_token", auth={"token": "ops",
                                       "endpoint": server.url},
        image_endpoint_override=server.url, image_api_version="2")
    try:
        image = conn.image.create_image(name=unique(), disk_format="raw",
                                        container_format="bare",
                                        allow_duplicates=True)
        url = put_file(server, "cold")
        conn.image.add_image_location(image, url, validation_data={
            "os_hash_algo": "sha512", "os_hash_value": SHA512})
        got = wait(server, image.id, unlocked)
        assert got["status"] == "active"
        found = list(conn.image.image_locations(image))
        assert [(loc.url, loc.metadata) for loc in found] == [
            (url, {"store": "cold"})]
    finally:
        conn.close()
