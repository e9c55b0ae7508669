"""Notifications from a real Glare to the real RabbitMQ, consumed as a
Glance consumer (Ceilometer, a billing system) would consume them.

Glare runs with Glance's configuration (``[oslo_messaging_notifications]
driver = messagingv2``, ``transport_url`` to the RabbitMQ on 127.0.0.1) and
a topic of its own; python-glanceclient makes the changes; the messages are
read from RabbitMQ (``tests/integration/rabbit.py``) and checked for event
types, order, priority, publisher and payloads against what a real Glance 33
sends for the same requests (captured from one; the key sets are
``tests/glance_compat/test_notifications.py``'s).
"""

import io
import os
import time
import types as pytypes

import glanceclient
import pytest
import requests

from tests.conftest import database_url, glare_server, free_port
from tests.glance_compat.test_notifications import (IMAGE_KEYS, MEMBER_KEYS,
                                                    SEND_KEYS, UPLOAD_KEYS)
from tests.integration.helpers import ADMIN, project_headers, unique
from tests.integration.rabbit import (NotificationQueue,
                                      notification_sections, unique_topic)
from tests.web_source import web_source

pytestmark = pytest.mark.integration

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def source():
    """A web server on 127.0.0.1 for web-download imports."""
    with web_source() as src:
        src.files["disk"] = b"w" * 5000
        yield src


@pytest.fixture(scope="module")
def notified(db_kind, source, tmp_path_factory):
    """(server, queue): a Glare sending its notifications to its own
    topic, and the consumer of that topic."""
    topic = unique_topic()
    queue = NotificationQueue(topic)
    tmp = tmp_path_factory.mktemp("notify-%s" % db_kind)
    try:
        with database_url(db_kind, tmp) as url:
            with glare_server(tmp, url, extra_conf=(
                    "enabled_import_methods = [glance-direct,web-download]"
                    "\n"), extra_sections=notification_sections(topic) + (
                    "[import_filtering_opts]\nallowed_hosts = 127.0.0.1\n"
                    "allowed_ports = %d\n" % source.port)) as srv:
                yield srv, queue
    finally:
        queue.close()


def client(server, project, roles="member,reader"):
    gc = glanceclient.Client("2", endpoint=server.url, token="x")
    gc.http_client.session.headers.update(project_headers(project,
                                                          roles=roles))
    return gc


def events(messages):
    return [(m["event_type"], m["priority"]) for m in messages]


def check_envelope(msg):
    assert msg["_oslo_version"] == "2.0"
    assert msg["publisher_id"] == "image.localhost"
    assert msg["message_id"] and msg["timestamp"]


def payloads(messages):
    return [m["payload"] for m in messages]


def test_image_lifecycle(notified):
    """create, upload, PATCH, download, tag, members, deactivate,
    reactivate, delete: Glance's notifications in Glance's order, with
    Glance's payloads."""
    server, queue = notified
    owner, other = unique("owner"), unique("other")
    gc = client(server, owner, roles="admin,member,reader")
    gc_other = client(server, other)
    data = os.urandom(3 * 1024 * 1024 + 17)
    image = gc.images.create(name="n1", disk_format="raw",
                             container_format="bare", visibility="shared",
                             tags=["t1"], foo="bar")
    gc.images.upload(image.id, io.BytesIO(data))
    gc.images.update(image.id, name="n2", baz="q")
    assert b"".join(gc.images.data(image.id)) == data
    gc.image_tags.update(image.id, "t2")
    gc.image_members.create(image.id, other)
    gc_other.image_members.update(image.id, other, "accepted")
    assert b"".join(gc_other.images.data(image.id)) == data
    gc.image_members.delete(image.id, other)
    gc.images.deactivate(image.id)
    gc.images.reactivate(image.id)
    gc.images.delete(image.id)

    got = queue.wait_about(image.id, 16)
    assert events(got) == [
        ("image.create", "INFO"),
        ("image.update", "INFO"), ("image.prepare", "INFO"),
        ("image.upload", "INFO"), ("image.activate", "INFO"),
        ("image.update", "INFO"),
        ("image.update", "INFO"),                      # PATCH
        ("image.send", "INFO"),
        ("image.update", "INFO"),                      # tag
        ("image.member.create", "INFO"), ("image.member.update", "INFO"),
        ("image.send", "INFO"),
        ("image.member.delete", "INFO"),
        ("image.update", "INFO"), ("image.update", "INFO"),
        ("image.delete", "INFO"),
    ]
    for msg in got:
        check_envelope(msg)
    (create, saving, prepare, upload, activate, active, patched, send,
     tagged, m_create, m_update, send_other, m_delete, deactivated,
     reactivated, deleted) = payloads(got)
    for payload in (create, saving, activate, active, patched, tagged,
                    deactivated, reactivated, deleted):
        assert list(payload) == IMAGE_KEYS
    for payload in (prepare, upload):
        assert list(payload) == UPLOAD_KEYS
    for payload in (m_create, m_update, m_delete):
        assert list(payload) == MEMBER_KEYS
    for payload in (send, send_other):
        assert list(payload) == SEND_KEYS

    assert create["id"] == image.id and create["name"] == "n1"
    assert (create["status"], create["owner"], create["visibility"],
            create["is_public"]) == ("queued", owner, "shared", False)
    assert (create["disk_format"], create["container_format"]) == \
        ("raw", "bare")
    assert (create["size"], create["checksum"], create["min_ram"],
            create["min_disk"], create["protected"]) == (None, None, 0, 0,
                                                         False)
    assert create["properties"] == {"foo": "bar"}
    assert create["tags"] == ["t1"]
    assert (create["deleted"], create["deleted_at"]) == (False, None)
    assert create["created_at"].endswith("Z")
    assert [p["status"] for p in (saving, prepare, upload, activate,
                                  active)] == ["saving", "saving", "active",
                                               "active", "active"]
    assert prepare["os_glance_importing_to_stores"] == []
    assert prepare["os_glance_failed_import"] == []
    assert "backend" not in prepare          # single store, as Glance
    import hashlib
    for payload in (upload, activate, active):
        assert payload["size"] == len(data)
        assert payload["virtual_size"] == len(data)
        assert payload["checksum"] == hashlib.md5(data).hexdigest()
    assert patched["name"] == "n2"
    assert patched["properties"] == {"foo": "bar", "baz": "q"}
    assert tagged["tags"] == ["t1", "t2"]
    assert send == {"bytes_sent": len(data), "image_id": image.id,
                    "owner_id": owner, "receiver_tenant_id": owner,
                    "receiver_user_id": "user-" + owner}
    assert send_other["receiver_tenant_id"] == other
    assert send_other["receiver_user_id"] == "user-" + other
    assert (m_create["image_id"], m_create["member_id"],
            m_create["status"], m_create["deleted"]) == (image.id, other,
                                                         "pending", False)
    assert m_update["status"] == "accepted"
    assert (m_delete["status"], m_delete["deleted"]) == ("accepted", True)
    assert m_delete["deleted_at"].endswith("Z")
    assert (deactivated["status"], reactivated["status"]) == (
        "deactivated", "active")
    assert (deleted["status"], deleted["deleted"]) == ("deleted", True)
    assert deleted["deleted_at"].endswith("Z")
    assert deleted["name"] == "n2" and deleted["tags"] == ["t1", "t2"]


def test_failed_upload_is_an_error_notification(notified):
    """Data that contradicts disk_format: Glance's image.upload at ERROR
    priority, its payload a sentence, then the image back to queued."""
    server, queue = notified
    gc = client(server, unique("p"))
    image = gc.images.create(name="bad", disk_format="qcow2",
                             container_format="bare")
    with pytest.raises(Exception):
        gc.images.upload(image.id, io.BytesIO(b"z" * 100))
    got = queue.wait_about(image.id, 5)
    assert events(got) == [("image.create", "INFO"),
                           ("image.update", "INFO"),
                           ("image.prepare", "INFO"),
                           ("image.upload", "ERROR"),
                           ("image.update", "INFO")]
    assert got[3]["payload"] == (
        "Failed to upload image data for image %s due to internal error: "
        "Image disk_format qcow2 does not match stream data raw" % image.id)
    assert got[3]["_queue"].endswith(".error")
    assert got[4]["payload"]["status"] == "queued"


def test_stage_and_import(notified):
    server, queue = notified
    gc = client(server, unique("p"))
    image = gc.images.create(name="st", disk_format="raw",
                             container_format="bare")
    gc.images.stage(image.id, io.BytesIO(b"y" * 500))
    gc.images.image_import(image.id, method="glance-direct")
    got = queue.wait_about(image.id, 9)
    # The last image.update: the import lock let go (as Glance's).
    assert events(got) == [
        ("image.create", "INFO"), ("image.update", "INFO"),
        ("image.update", "INFO"), ("image.update", "INFO"),
        ("image.prepare", "INFO"), ("image.upload", "INFO"),
        ("image.activate", "INFO"), ("image.update", "INFO"),
        ("image.update", "INFO")]
    statuses = [m["payload"]["status"] for m in got]
    assert statuses == ["queued", "uploading", "uploading", "importing",
                        "importing", "active", "active", "active", "active"]
    assert got[2]["payload"]["size"] == 500     # staged
    assert got[5]["payload"]["checksum"] is not None


def test_web_download_is_a_task_run_by_a_worker(notified, source):
    """web-download runs on a task runner: task.create, task.run (handed
    over), task.processing, task.success of one task, and the image's
    image.prepare, image.upload, image.activate as Glance's import task
    sends them."""
    server, queue = notified
    gc = client(server, unique("p"))
    image = gc.images.create(name="wd", disk_format="raw",
                             container_format="bare")
    gc.images.image_import(image.id, method="web-download",
                           uri=source.url("/data/disk"))
    session = requests.Session()
    session.headers.update(gc.http_client.session.headers)
    task_id = _import_task(session, server.url, image.id)
    tasks = queue.wait_about(task_id, 4)
    assert sorted(m["event_type"] for m in tasks) == [
        "task.create", "task.processing", "task.run", "task.success"]
    assert {m["payload"]["type"] for m in tasks} == {"api_image_import"}
    done = [m for m in tasks if m["event_type"] == "task.success"][0]
    assert done["payload"]["status"] == "success"
    got = queue.wait(lambda _: "image.activate" in [
        m["event_type"] for m in queue.about(image.id)])
    got = [m for m in queue.about(image.id)
           if m["event_type"] != "image.update"]
    assert [m["event_type"] for m in got] == [
        "image.create", "image.prepare", "image.upload", "image.activate"]
    assert [m["payload"]["status"] for m in got[1:]] == [
        "importing", "active", "active"]
    assert got[2]["payload"]["size"] == 5000
    assert list(got[1]["payload"]) == UPLOAD_KEYS


def test_range_download_reports_the_bytes_of_the_range(notified):
    server, queue = notified
    gc = client(server, unique("p"))
    image = gc.images.create(name="r", disk_format="raw",
                             container_format="bare")
    gc.images.upload(image.id, io.BytesIO(b"0123456789" * 100))
    headers = dict(gc.http_client.session.headers, Range="bytes=10-29")
    resp = requests.get(server.url + "/v2/images/%s/file" % image.id,
                        headers=headers, timeout=30)
    assert resp.status_code == 206 and len(resp.content) == 20
    got = queue.wait_about(image.id, 7)
    assert events(got)[-1] == ("image.send", "INFO")
    assert got[-1]["payload"]["bytes_sent"] == 20


def test_artifact_api_notifications(notified):
    """The other artifact types: artifact.* with the artifact's fields."""
    server, queue = notified
    base = server.url + "/artifacts/heat_templates"
    art = requests.post(base, json={"name": unique("tpl"),
                                    "version": "1.0.0"},
                        headers=ADMIN, timeout=30).json()
    url = "%s/%s" % (base, art["id"])
    assert requests.put(url + "/template", data=b"heat_template_version: x",
                        headers=dict(ADMIN, **OCTET),
                        timeout=30).status_code in (200, 201, 204)
    assert requests.post(url + "/actions/activate", headers=ADMIN,
                         timeout=30).status_code == 200
    assert requests.delete(url, headers=ADMIN, timeout=30).status_code == 204
    got = queue.wait_about(art["id"], 4)
    assert events(got) == [("artifact.create", "INFO"),
                           ("artifact.upload", "INFO"),
                           ("artifact.activate", "INFO"),
                           ("artifact.delete", "INFO")]
    create, upload, activate, delete = payloads(got)
    assert (create["type_name"], create["version"], create["status"]) == (
        "heat_templates", "1.0.0", "drafted")
    assert upload["template"]["size"] == len(b"heat_template_version: x")
    assert upload["uploaded"] == {"field": "template", "path": None}
    assert "url" not in upload["template"]
    assert activate["status"] == "active"
    assert (delete["deleted"], delete["status"]) == (True, "deleted")


def test_a_broker_that_is_down_never_fails_or_holds_requests(
        db_kind, tmp_path):
    """Nothing listens at transport_url: requests answer as usual and
    quickly, and the log says once that notifications are dropped."""
    if db_kind != "sqlite":
        pytest.skip("the broker, not the database, is under test")
    down = "rabbit://guest:guest@127.0.0.1:%d/" % free_port()
    with database_url("sqlite", tmp_path) as url:
        with glare_server(tmp_path, url, extra_sections=notification_sections(
                unique_topic(), url=down)) as srv:
            gc = glanceclient.Client("2", endpoint=srv.url, token="x")
            started = time.monotonic()
            for _ in range(3):
                image = gc.images.create(name="x", disk_format="raw",
                                         container_format="bare")
                gc.images.upload(image.id, io.BytesIO(b"x" * 1000))
                assert b"".join(gc.images.data(image.id)) == b"x" * 1000
                gc.images.delete(image.id)
            elapsed = time.monotonic() - started
            # The first delivery fails after oslo.messaging's bounded
            # retries (1 + 3 s), in the sender thread.
            deadline = time.monotonic() + 30
            while "Notifications are not being delivered" not in \
                    srv.log_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            log = srv.log_text()
    # 15 requests; the first waits [glare] notification_wait_seconds (1 s)
    # for its notification, then requests stop waiting for a broker that
    # does not answer.
    assert elapsed < 8, elapsed
    assert "Notifications are not being delivered" in log
    assert log.count("Notifications are not being delivered") <= 2, log
    assert "Payload=" not in log          # oslo.messaging's payload dump


# ------------------------------------------------- the same, from real Glance

def scenario(url):
    """The same requests against any Image API; returns {label: (id,
    count)} of the messages to wait for.  The identities are the trusted
    keystonemiddleware headers both servers accept
    (conformance/glance_runner.py)."""
    owner, other = unique("owner"), unique("other")
    gc = client(pytypes.SimpleNamespace(url=url), owner,
                roles="admin,member,reader")
    gc_other = client(pytypes.SimpleNamespace(url=url), other)
    image = gc.images.create(name="n1", disk_format="raw",
                             container_format="bare", visibility="shared",
                             tags=["t1"], foo="bar")
    gc.images.upload(image.id, io.BytesIO(b"x" * 4096))
    gc.images.update(image.id, name="n2", baz="q")
    b"".join(gc.images.data(image.id))
    gc.image_tags.update(image.id, "t2")
    gc.image_members.create(image.id, other)
    gc_other.image_members.update(image.id, other, "accepted")
    b"".join(gc_other.images.data(image.id))
    gc.image_members.delete(image.id, other)
    gc.images.deactivate(image.id)
    gc.images.reactivate(image.id)
    gc.images.delete(image.id)
    bad = gc.images.create(name="bad", disk_format="qcow2",
                           container_format="bare")
    with pytest.raises(Exception):
        gc.images.upload(bad.id, io.BytesIO(b"z" * 100))
    staged = gc.images.create(name="st", disk_format="raw",
                              container_format="bare")
    gc.images.stage(staged.id, io.BytesIO(b"y" * 500))
    gc.images.image_import(staged.id, method="glance-direct")
    session = requests.Session()
    session.headers.update(gc.http_client.session.headers)
    task_id = _import_task(session, url, staged.id)
    metadef_scenario(session, url, METADEF_NS)
    return {"lifecycle": (image.id, 16), "bad": (bad.id, 5),
            "import": (staged.id, 9), "task": (task_id, 4)}


def _import_task(session, url, image_id, timeout=120):
    """The id of the image's import task (v2.12's /v2/images/{id}/tasks),
    once the import has ended.  (Real Glance on SQLite left its task
    pending for over 30 s under the full suite's load.)"""
    deadline = time.monotonic() + timeout
    while True:
        tasks = session.get("%s/v2/images/%s/tasks" % (url, image_id),
                            timeout=30).json()["tasks"]
        if tasks and tasks[0]["status"] in ("success", "failure"):
            return tasks[0]["id"]
        assert time.monotonic() < deadline, tasks
        time.sleep(0.2)


METADEF_NS = "glare_notify_cmp"
# One notification per change of metadef_scenario (Glance 33's).
METADEF_COUNT = 23


def metadef_scenario(session, url, ns):
    """Every kind of metadefs change (the one of
    tests/glance_compat/test_metadef_notifications.py), each checked."""
    from tests.glance_compat.test_metadef_notifications import scenario
    scenario(lambda method, path, body: getattr(session, method)(
        url + path, json=body, timeout=30), ns)


VARYING = {"id", "image_id", "owner", "owner_id", "member_id",
           "receiver_tenant_id", "receiver_user_id", "created_at",
           "updated_at", "deleted_at", "expires_at"}


def comparable(msg):
    """A message without what differs between any two runs (ids, times,
    projects): event, priority, publisher and the rest of the payload."""
    payload = msg["payload"]
    if isinstance(payload, dict):
        payload = {k: v for k, v in payload.items() if k not in VARYING}
        if isinstance(payload.get("tags"), list):
            # Glance sends an image's tags in no fixed order (a set).
            payload["tags"] = sorted(payload["tags"])
    else:
        payload = payload.replace(msg["_about"], "ID")
    return (msg["event_type"], msg["priority"], msg["publisher_id"],
            msg["_oslo_version"], payload)


def notifications_of(url, queue):
    seen = {}
    for label, (about, count) in scenario(url).items():
        msgs = queue.wait_about(about, count)
        for msg in msgs:
            msg["_about"] = about
        seen[label] = msgs

    def metadefs(messages):
        return sorted([m for m in messages
                       if m["event_type"].startswith("metadef_")
                       and m["payload"]["namespace"] == METADEF_NS],
                      key=lambda m: m["timestamp"])
    seen["metadefs"] = metadefs(queue.wait(
        lambda msgs: len(metadefs(msgs)) >= METADEF_COUNT))
    return seen


def test_same_notifications_as_real_glance(db_kind, tmp_path):
    """Real Glance 33 and Glare, same requests, both to RabbitMQ: the same
    notifications, payload for payload (ids and times aside): images,
    downloads (image.send), members, a glance-direct import with its
    task.*, and every kind of metadefs change."""
    if db_kind != "sqlite":
        pytest.skip("one database is enough to compare with Glance")
    from conformance import glance_runner
    venv = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), ".cache", "glance-venv")
    if not glance_runner.venv_ok(venv):
        venv = "/work/main/.cache/glance-venv"
    if not glance_runner.venv_ok(venv):
        pytest.skip("no Glance venv (make glance-venv)")
    glance_topic, glare_topic = unique_topic(), unique_topic()
    glance_queue = NotificationQueue(glance_topic)
    glare_queue = NotificationQueue(glare_topic)
    try:
        with glance_runner.glance_server(
                tmp_path / "glance", venv=venv,
                import_methods=("glance-direct",),
                extra_conf=notification_sections(glance_topic)) as url:
            glance = notifications_of(url, glance_queue)
        with database_url("sqlite", tmp_path) as db_url:
            with glare_server(tmp_path, db_url, extra_conf=(
                    "enabled_import_methods = [glance-direct]\n"),
                    extra_sections=notification_sections(glare_topic)) as srv:
                glare = notifications_of(srv.url, glare_queue)
    finally:
        glance_queue.close()
        glare_queue.close()

    # Deliberate difference: after refusing the data of "bad", Glance
    # puts the image back to queued but keeps the checksum of the data
    # it refused (so the image claims a checksum without data); Glare's
    # queued image has none.
    refused = glance["bad"][-1]["payload"]
    assert refused["status"] == "queued" and refused["checksum"]
    refused["checksum"] = None
    for label in ("lifecycle", "bad", "task", "metadefs"):
        assert [comparable(m) for m in glare[label]] == \
            [comparable(m) for m in glance[label]], label
        for ours, theirs in zip(glare[label], glance[label]):
            if isinstance(theirs["payload"], dict):
                assert list(ours["payload"]) == list(theirs["payload"])
    # A live task: Glance says it expires when it was created; Glare says
    # null until it has finished (docs/compatibility.md).
    assert [m["payload"]["expires_at"] is None for m in glare["task"]] == [
        True, True, False, True]
    assert all(m["payload"]["expires_at"] for m in glance["task"])
    # The import, task and image messages interleaved: the same order.
    # The image's properties differ (Glance's os_glance_stage_host, the
    # address of the worker that staged the data), so event types,
    # priorities, keys and statuses are compared.
    merged = {name: sorted(seen["import"] + seen["task"],
                           key=lambda m: m["timestamp"])
              for name, seen in (("glance", glance), ("glare", glare))}
    assert [(m["event_type"], m["priority"]) for m in merged["glare"]] == \
        [(m["event_type"], m["priority"]) for m in merged["glance"]]
    for ours, theirs in zip(merged["glare"], merged["glance"]):
        assert list(ours["payload"]) == list(theirs["payload"])
        assert ours["payload"]["status"] == theirs["payload"]["status"]
