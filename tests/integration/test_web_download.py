"""web-download and the tasks API through the real server and real clients.

One Glare per database; a real HTTP server (``tests.web_source``) on
127.0.0.1 serves the data, and the server's ``[import_filtering_opts]``
names that host and port explicitly -- the only way Glare fetches from a
loopback address.  A policy file lets project members use the tasks API
(Glance's default is admin only; ``conformance/test_tasks.py`` pins that),
so a tenant can probe another tenant's tasks.
"""

import hashlib
import os
import subprocess
import sys
import time
import uuid

import glanceclient
import openstack
import pytest
import requests

from tests.conftest import database_url, glare_server
from tests.integration.helpers import (ADMIN, create_image, data_files,
                                       get_image, project_headers, unique)
from tests.web_source import web_source

pytestmark = pytest.mark.integration

GLANCE = os.path.join(os.path.dirname(sys.executable), "glance")
DATA = os.urandom(3 * 1024 * 1024 + 17)


@pytest.fixture(scope="module")
def source():
    with web_source() as src:
        src.files["disk"] = DATA
        src.files["small"] = b"small image"
        src.files["slow"] = os.urandom(64 * 1024 * 40)
        yield src


@pytest.fixture(scope="module")
def server(db_kind, source, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("webdl-%s" % db_kind)
    policy = tmp / "policy.yaml"
    policy.write_text('"tasks_api_access": "role:admin or role:member"\n')
    sections = ("[import_filtering_opts]\nallowed_hosts = 127.0.0.1\n"
                "allowed_ports = %d\n[oslo_policy]\npolicy_file = %s\n"
                % (source.port, policy))
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_sections=sections) as srv:
            yield srv


def _import(url, image_id, uri, headers=ADMIN, **extra):
    body = {"method": {"name": "web-download", "uri": uri}}
    body.update(extra)
    return requests.post(url + "/v2/images/%s/import" % image_id, json=body,
                         headers=dict(headers, Accept="application/json"),
                         timeout=30)


def _wait(url, image_id, statuses, headers=ADMIN, timeout=60):
    deadline = time.time() + timeout
    while True:
        image = get_image(url, image_id, headers).json()
        if image["status"] in statuses and not image.get(
                "os_glance_import_task"):
            return image
        assert time.time() < deadline, image
        time.sleep(0.2)


def _tasks(url, image_id, headers=ADMIN):
    resp = requests.get(url + "/v2/images/%s/tasks" % image_id,
                        headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["tasks"]


def _failed_task(url, image_id):
    """Wait for the image's import task to fail; returns it."""
    deadline = time.time() + 60
    while True:
        tasks = _tasks(url, image_id)
        if tasks and tasks[-1]["status"] in ("success", "failure"):
            assert tasks[-1]["status"] == "failure", tasks
            return tasks[-1]
        assert time.time() < deadline, tasks
        time.sleep(0.2)


def test_web_download_fetches_streams_and_records_the_task(server, source):
    image = create_image(server.url, name=unique("web"))
    resp = _import(server.url, image["id"], source.url("/data/disk"))
    assert resp.status_code == 202 and resp.content == b""
    done = _wait(server.url, image["id"], ("active",))
    assert done["size"] == len(DATA)
    assert done["checksum"] == hashlib.md5(DATA).hexdigest()
    assert done["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert (done["os_glance_importing_to_stores"],
            done["os_glance_failed_import"]) == ("", "")
    got = requests.get(server.url + "/v2/images/%s/file" % image["id"],
                       headers=ADMIN, timeout=30)
    assert got.content == DATA
    [task] = _tasks(server.url, image["id"])
    assert task["status"] == "success" and task["type"] == "api_image_import"
    assert task["request_id"] == resp.headers["x-openstack-request-id"]
    assert task["user_id"] == "glare-user" and task["image_id"] == image["id"]
    assert task["input"] == {"image_id": image["id"], "import_req": {
        "method": {"name": "web-download",
                   "uri": source.url("/data/disk")}}, "backend": [None]}
    assert task["result"] == {"image_id": image["id"]}
    assert task["message"] == "Copied 3 MiB"
    assert task["deleted"] is False and task["deleted_at"] is None
    assert "." in task["created_at"] and not task["created_at"].endswith("Z")
    # Nothing left in staging (the data lives in the image store only).
    requests.delete(server.url + "/v2/images/" + image["id"], headers=ADMIN,
                    timeout=30)
    assert data_files(server.datadir, image["id"]) == []


def test_a_redirect_on_the_allowed_host_is_followed(server, source):
    image = create_image(server.url, name=unique("web"))
    uri = source.url("/redirect?to=/nolength/small")
    assert _import(server.url, image["id"], uri).status_code == 202
    done = _wait(server.url, image["id"], ("active",))
    assert done["checksum"] == hashlib.md5(b"small image").hexdigest()


@pytest.mark.parametrize("target", [
    "http://localhost:{port}/data/small", "http://127.0.0.2:{port}/data/small",
    "http://[::1]:{port}/data/small", "http://169.254.169.254/latest/",
    "http://10.0.0.1/", "http://2130706433:{port}/", "http://0177.0.0.1/",
    "http://127.0.0.1:22/",
])
def test_a_redirect_elsewhere_fails_the_task_and_queues_the_image(
        server, source, target):
    image = create_image(server.url, name=unique("web"))
    to = target.format(port=source.port)
    uri = source.url("/redirect?to=" + requests.utils.quote(to, safe=""))
    assert _import(server.url, image["id"], uri).status_code == 202
    task = _failed_task(server.url, image["id"])
    assert task["message"].startswith("Redirect to disallowed URL: ")
    queued = _wait(server.url, image["id"], ("queued",))
    assert queued["size"] is None and queued["checksum"] is None
    assert queued["os_glance_importing_to_stores"] == ""
    assert data_files(server.datadir, image["id"]) == []
    # The image can be imported again.
    assert _import(server.url, image["id"],
                   source.url("/data/small")).status_code == 202
    _wait(server.url, image["id"], ("active",))


@pytest.mark.parametrize("path,words", [
    ("/status/404", "HTTP Error 404"),
    ("/short/small", "after 11 of 1011 bytes"),
])
def test_a_failed_fetch_fails_the_task(server, source, path, words):
    image = create_image(server.url, name=unique("web"))
    assert _import(server.url, image["id"], source.url(path)).status_code \
        == 202
    assert words in _failed_task(server.url, image["id"])["message"]
    _wait(server.url, image["id"], ("queued",))
    assert data_files(server.datadir, image["id"]) == []


def test_a_download_over_the_staging_quota_fails_the_task(server, source):
    """Glance: web-download stages the data, so image_stage_total binds;
    the task fails with Glance's words and nothing stays staged."""
    project = "stq-" + uuid.uuid4().hex[:8]
    resp = requests.put(server.url + "/artifacts/quotas", headers=ADMIN,
                        json={"quotas": [{"project_id": project,
                                          "type_name": "images",
                                          "name": "staged_bytes",
                                          "value": 1024 * 1024}]},
                        timeout=30)
    assert resp.status_code == 200, resp.text
    who = project_headers(project)
    image = create_image(server.url, who, name=unique("web"))
    assert _import(server.url, image["id"], source.url("/data/disk"),
                   headers=who).status_code == 202
    task = _failed_task(server.url, image["id"])
    assert "Resource image_stage_total is over limit of 1 due to current " \
        "usage 0" in task["message"]
    queued = _wait(server.url, image["id"], ("queued",), headers=who)
    assert queued["size"] is None
    assert data_files(server.datadir, image["id"]) == []
    usage = requests.get(server.url + "/v2/info/usage", headers=who,
                         timeout=30).json()["usage"]
    assert usage["image_stage_total"] == {"limit": 1, "usage": 0}
    assert usage["image_count_uploading"]["usage"] == 0


def test_fetched_data_is_inspected_like_an_upload(server, source):
    """Bytes that are no qcow2 imported as disk_format qcow2 are refused,
    as an upload of them is: the task fails, the image is queued, nothing
    stays stored."""
    image = create_image(server.url, name=unique("web"), disk_format="qcow2")
    assert _import(server.url, image["id"],
                   source.url("/data/disk")).status_code == 202
    task = _failed_task(server.url, image["id"])
    assert "qcow2" in task["message"]
    queued = _wait(server.url, image["id"], ("queued",))
    assert queued["size"] is None and queued["checksum"] is None
    assert data_files(server.datadir, image["id"]) == []


@pytest.mark.parametrize("uri", [
    "http://127.0.0.2/x", "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/x", "http://[::1]/x", "http://2130706433/x",
    "http://0177.0.0.1/x", "http://localhost:{port}/data/small",
    "http://127.0.0.1:{port}\\.example.com/", "ftp://127.0.0.1:{port}/x",
    "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:{port}/data/small", None,
])
def test_uris_that_may_not_be_fetched_are_400(server, source, uri):
    image = create_image(server.url, name=unique("web"))
    uri = uri.format(port=source.port) if uri else uri
    resp = _import(server.url, image["id"], uri)
    assert resp.status_code == 400
    assert resp.json()["message"].startswith(
        "URI for web-download does not pass filtering: %s" % uri)
    assert get_image(server.url, image["id"]).json()["status"] == "queued"
    assert _tasks(server.url, image["id"]) == []


def test_web_download_needs_a_queued_image(server, source):
    image = create_image(server.url, name=unique("web"))
    assert _import(server.url, image["id"], source.url("/data/small")) \
        .status_code == 202
    _wait(server.url, image["id"], ("active",))
    resp = _import(server.url, image["id"], source.url("/data/small"))
    assert resp.status_code == 409
    assert "Image with status active cannot be target for import" in \
        resp.json()["message"]


def test_one_import_at_a_time(server, source):
    source.slow_delay = 0.1
    image = create_image(server.url, name=unique("web"))
    first = _import(server.url, image["id"], source.url("/slow/slow"))
    assert first.status_code == 202
    shown = get_image(server.url, image["id"]).json()
    lock = shown["os_glance_import_task"]
    second = _import(server.url, image["id"], source.url("/data/small"))
    assert second.status_code == 409
    # The lock (Glance's words for a live task) if the runner has not
    # started yet, else the status.
    assert second.json()["message"].startswith((
        "Image has active task",
        "Image needs to be in 'queued' state"))
    done = _wait(server.url, image["id"], ("active",))
    assert done["size"] == len(source.files["slow"])
    assert [t["id"] for t in _tasks(server.url, image["id"])] == [lock]


# ------------------------------------------------------------- clients

@pytest.fixture(scope="module")
def glance_cli(server, tmp_path_factory):
    home = tmp_path_factory.mktemp("glance-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(home)

    def run(*args):
        # stdin closed (glance ... <&-): otherwise the CLI takes it for
        # image data, which web-download refuses.
        proc = subprocess.run(
            [GLANCE, "--os-image-url", server.url, "--os-auth-token", "x"]
            + list(args), env=env, capture_output=True, text=True,
            timeout=120, preexec_fn=lambda: os.close(0))
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout
    return run


def test_glance_cli_web_download_and_tasks(glance_cli, server, source):
    from tests.integration.test_glance_cli import parse_table
    name = unique("cli")
    out = parse_table(glance_cli(
        "image-create-via-import", "--name", name, "--disk-format", "raw",
        "--container-format", "bare", "--import-method", "web-download",
        "--uri", source.url("/data/small")))
    image_id = out["id"]
    done = _wait(server.url, image_id, ("active",))
    assert done["checksum"] == hashlib.md5(b"small image").hexdigest()
    # image-import on an existing image.
    other = create_image(server.url, name=unique("cli"))
    glance_cli("image-import", other["id"], "--import-method",
               "web-download", "--uri", source.url("/data/small"))
    _wait(server.url, other["id"], ("active",))
    # image-tasks (v2.12), task-list, task-show.
    tasks_out = glance_cli("image-tasks", image_id)
    [task] = _tasks(server.url, image_id)
    assert "| Copied 0 MiB | success | %s |" % task["updated_at"] \
        in tasks_out
    listed = glance_cli("task-list", "--page-size", "5")
    assert "api_image_import" in listed
    shown = parse_table(glance_cli("task-show", task["id"]))
    assert shown["status"] == "success" and shown["id"] == task["id"]
    assert shown["type"] == "api_image_import"


def test_glance_cli_legacy_import_task(glance_cli, server, source):
    from tests.integration.test_glance_cli import parse_table
    name = unique("legacy")
    created = parse_table(glance_cli(
        "task-create", "--type", "import", "--input",
        '{"import_from": "%s", "import_from_format": "raw", '
        '"image_properties": {"name": "%s", "disk_format": "raw", '
        '"container_format": "bare"}}' % (source.url("/data/small"), name)))
    assert created["status"] == "pending" and created["type"] == "import"
    deadline = time.time() + 60
    while True:
        shown = parse_table(glance_cli("task-show", created["id"]))
        if shown["status"] in ("success", "failure"):
            break
        assert time.time() < deadline
        time.sleep(0.5)
    assert shown["status"] == "success", shown
    gc = glanceclient.Client("2", endpoint=server.url, token="x")
    [image] = [i for i in gc.images.list(filters={"name": name})]
    assert image.status == "active" and image.checksum == hashlib.md5(
        b"small image").hexdigest()
    task = gc.tasks.get(created["id"])
    assert task.result == {"image_id": image.id}


def test_glanceclient_tasks_api(server, source):
    gc = glanceclient.Client("2", endpoint=server.url, token="x")
    task = gc.tasks.create(type="import", input={
        "import_from": source.url("/status/404"),
        "import_from_format": "raw",
        "image_properties": {"name": unique("legacy")}})
    deadline = time.time() + 60
    while gc.tasks.get(task.id).status not in ("success", "failure"):
        assert time.time() < deadline
        time.sleep(0.3)
    failed = gc.tasks.get(task.id)
    assert failed.status == "failure" and "404" in failed.message
    assert failed.expires_at
    listed = list(gc.tasks.list(filters={"status": "failure"},
                                page_size=2))
    assert task.id in [t.id for t in listed]
    assert all(t.status == "failure" for t in listed)
    assert gc.images.get_associated_image_tasks  # the v2.12 call exists
    image = create_image(server.url, name=unique("gc"))
    assert _import(server.url, image["id"],
                   source.url("/data/small")).status_code == 202
    _wait(server.url, image["id"], ("active",))
    tasks = gc.images.get_associated_image_tasks(image["id"])
    assert [t["status"] for t in tasks["tasks"]] == ["success"]


def test_openstacksdk_web_download(server, source):
    conn = openstack.connection.Connection(
        auth_type="admin_token", auth={"token": "x", "endpoint": server.url},
        image_endpoint_override=server.url)
    image = conn.image.create_image(name=unique("sdk"), disk_format="raw",
                                    container_format="bare")
    conn.image.import_image(image, method="web-download",
                            uri=source.url("/data/disk"))
    done = conn.image.wait_for_status(image, status="active", failures=[
        "killed"], interval=0.3, wait=60)
    assert done.checksum == hashlib.md5(DATA).hexdigest()
    tasks = list(conn.image.image_tasks(image))
    assert [(t.status, t.type, t.image_id) for t in tasks] == [
        ("success", "api_image_import", image.id)]
    conn.image.delete_image(done)


# ------------------------------------------------------ tenants apart

def test_a_tenant_cannot_see_another_tenants_tasks(server, source):
    alice = project_headers("alice-" + uuid.uuid4().hex[:6])
    bob = project_headers("bob-" + uuid.uuid4().hex[:6])
    image = create_image(server.url, headers=alice, name=unique("alice"),
                         visibility="private")
    assert _import(server.url, image["id"], source.url("/data/small"),
                   headers=alice).status_code == 202
    _wait(server.url, image["id"], ("active",), headers=alice)
    [task] = _tasks(server.url, image["id"], alice)
    assert task["owner"] == alice["X-Project-Id"]
    nobody = str(uuid.uuid4())
    for template in ("/v2/tasks/%s", "/v2/images/%s/tasks"):
        real = image["id"] if "images" in template else task["id"]
        answers = []
        for probe in (real, nobody):
            resp = requests.get(server.url + template % probe, headers=bob,
                                timeout=30)
            assert resp.status_code == 404, (template, resp.text)
            answers.append(resp.text.replace(probe, "<id>"))
        # Exactly what an id that does not exist gets: nothing leaks.
        assert answers[0] == answers[1]
    listed = requests.get(server.url + "/v2/tasks?limit=1000", headers=bob,
                          timeout=30).json()["tasks"]
    assert task["id"] not in [t["id"] for t in listed]
    resp = requests.get(server.url + "/v2/tasks?marker=" + task["id"],
                        headers=bob, timeout=30)
    assert resp.status_code == 400
    # Alice sees hers; a reader of a public image still sees no tasks of
    # its owner.
    mine = requests.get(server.url + "/v2/tasks/" + task["id"],
                        headers=alice, timeout=30)
    assert mine.status_code == 200 and mine.json()["image_id"] == image["id"]
