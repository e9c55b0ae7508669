"""Glance's notification payloads and when they are sent
(glance_compat/notifications.py).

The key lists are Glance 33's (glance/notifier.py ``format_*``, in their
order), as a real Glance sends them to RabbitMQ; the sequences are what a
real Glance sent for the same requests (captured from one through RabbitMQ,
see tests/integration/test_notifications.py).
"""

import datetime
import hashlib
import io
import json
import os
import socket
import threading
import types as pytypes

import pytest

from artifacts import errors
from artifacts.api import notifications as artifact_notifications
from glance_compat import notifications
from glare import config
from tests import wsgi_app

IMAGE_KEYS = ["id", "name", "status", "created_at", "updated_at",
              "min_disk", "min_ram", "protected", "checksum", "owner",
              "disk_format", "container_format", "size", "virtual_size",
              "is_public", "visibility", "properties", "tags", "deleted",
              "deleted_at"]
# image.prepare and image.upload add the import progress lists.
UPLOAD_KEYS = IMAGE_KEYS + ["os_glance_importing_to_stores",
                            "os_glance_failed_import"]
MEMBER_KEYS = ["image_id", "member_id", "status", "created_at",
               "updated_at", "deleted", "deleted_at"]
SEND_KEYS = ["bytes_sent", "image_id", "owner_id", "receiver_tenant_id",
             "receiver_user_id"]
TASK_KEYS = ["id", "type", "status", "result", "owner", "message",
             "expires_at", "created_at", "updated_at", "deleted",
             "deleted_at"]

T0 = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456)


def artifact(**overrides):
    image = {"id": "5a0b7c1e-3f2d-4c6b-9a8e-1d2c3b4a5f60", "name": "n",
             "status": "active", "created_at": T0, "updated_at": T0,
             "protected": False, "owner": "p1", "visibility": "public",
             "hidden": True, "tags": {"b", "a"}, "blobs": [],
             "properties": {"disk_format": "raw", "container_format": "bare",
                            "size": 10, "virtual_size": 10,
                            "checksum": "c" * 32, "min_ram": 64,
                            "os_hash_algo": "sha512", "os_hash_value": "h",
                            "os_distro": "debian",
                            "os_glance_importing_to_stores": "s1,s2",
                            "os_glance_failed_import": ""}}
    image.update(overrides)
    return image


class Recorder:
    """A notifier that records (priority, event type, payload)."""

    enabled = True

    def __init__(self, disabled=()):
        self.sent = []
        self.disabled = disabled

    def is_enabled(self, event_type):
        return event_type not in self.disabled

    def info(self, event_type, payload):
        self.sent.append(("INFO", event_type, payload))

    def error(self, event_type, payload):
        self.sent.append(("ERROR", event_type, payload))

    def events(self):
        return [(p, e) for p, e, _ in self.sent]


# ----------------------------------------------------------------- payloads

def test_image_payload_has_glances_keys_in_glances_order():
    payload = notifications.image_payload(artifact())
    assert list(payload) == IMAGE_KEYS
    assert payload["created_at"] == "2024-05-06T07:08:09Z"
    assert payload["is_public"] is True and payload["visibility"] == "public"
    assert payload["tags"] == ["a", "b"]
    assert (payload["size"], payload["virtual_size"], payload["min_ram"],
            payload["min_disk"]) == (10, 10, 64, 0)
    # Base attributes are not properties; os_hidden and the hash are not
    # in Glance's payload at all; extra properties all are.
    assert payload["properties"] == {
        "os_distro": "debian", "os_glance_importing_to_stores": "s1,s2",
        "os_glance_failed_import": ""}
    assert (payload["deleted"], payload["deleted_at"]) == (False, None)
    json.dumps(payload)


def test_prepare_and_upload_add_the_import_lists():
    assert notifications.import_lists(artifact()) == {
        "os_glance_importing_to_stores": ["s1", "s2"],
        "os_glance_failed_import": []}


def test_deleted_image_payload():
    gone = T0 + datetime.timedelta(seconds=5)
    payload = notifications.deleted_image_payload(artifact(), gone)
    assert list(payload) == IMAGE_KEYS
    assert (payload["status"], payload["deleted"], payload["deleted_at"],
            payload["updated_at"]) == ("deleted", True,
                                       "2024-05-06T07:08:14Z",
                                       "2024-05-06T07:08:14Z")


def test_member_payload():
    row = {"artifact_id": "i", "member": "p2", "status": "pending",
           "created_at": T0, "updated_at": T0}
    payload = notifications.member_payload(row)
    assert list(payload) == MEMBER_KEYS
    assert payload == {"image_id": "i", "member_id": "p2",
                       "status": "pending",
                       "created_at": "2024-05-06T07:08:09Z",
                       "updated_at": "2024-05-06T07:08:09Z",
                       "deleted": False, "deleted_at": None}
    deleted = notifications.member_payload(row, deleted_at=T0)
    assert (deleted["deleted"], deleted["deleted_at"]) == (
        True, "2024-05-06T07:08:09Z")


def test_send_payload():
    ctx = pytypes.SimpleNamespace(project_id="p2", user_id="u2")
    payload = notifications.send_payload(artifact(), ctx, 7)
    assert list(payload) == SEND_KEYS
    assert payload == {"bytes_sent": 7, "image_id": artifact()["id"],
                       "owner_id": "p1", "receiver_tenant_id": "p2",
                       "receiver_user_id": "u2"}


@pytest.mark.parametrize("error,sentence", [
    (errors.UnsupportedMediaType("Image disk_format qcow2 does not match "
                                 "stream data raw"),
     "Failed to upload image data for image I due to internal error: Image "
     "disk_format qcow2 does not match stream data raw"),
    (errors.Forbidden("no"),
     "Not allowed to upload image data for image I: no"),
    (errors.Conflict("dup"),
     "Unable to upload duplicate image data for image I: dup"),
    (errors.Gone("gone"),
     "Image I could not be found after upload. The image may have been "
     "deleted during the upload: gone"),
    (errors.Invalid("bad"), "Cannot save data for image I: bad"),
    (OSError("client went away"),
     "Failed to upload image data for image I due to internal error: "
     "client went away"),
    (None, "Failed to upload image data for image I due to internal "
           "error: unknown error"),
    (KeyboardInterrupt(),
     "Failed to upload image data for image I due to internal error: "
     "KeyboardInterrupt"),
])
def test_upload_error_sentences_are_glances(error, sentence):
    assert notifications.upload_error("I", error) == sentence


def test_task_events_become_glances_task_notifications():
    recorder = Recorder()
    listener = notifications.TaskEvents(recorder)
    task = {"id": "t1", "type": "api_image_import", "status": "pending",
            "owner": "p1", "input": {"secret": "x"}, "result": {"r": 1},
            "message": "m", "expires_at": None, "created_at": T0,
            "updated_at": "2024-05-06T07:08:10Z"}
    for name in ("create", "processing", "run", "success", "failure"):
        listener(pytypes.SimpleNamespace(name="task_" + name,
                                         details={"task": task}))
    # Not a task's event, or one Glance has no notification for: nothing.
    for name in ("update", "task_explode"):
        listener(pytypes.SimpleNamespace(name=name, details={"task": task}))
    assert recorder.events() == [("INFO", "task." + e) for e in (
        "create", "processing", "run", "success", "failure")]
    payload = recorder.sent[0][2]
    assert list(payload) == TASK_KEYS
    # Never the input, result or message (they may hold credentials).
    assert (payload["result"], payload["message"]) == (None, None)
    assert "input" not in payload
    assert payload["expires_at"] is None
    assert payload["created_at"] == "2024-05-06T07:08:09Z"
    assert payload["updated_at"] == "2024-05-06T07:08:10Z"
    assert (payload["deleted"], payload["deleted_at"]) == (False, None)


# -------------------------------------------- the sequences, in-process app

@pytest.fixture(scope="module")
def glare(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notify")
    conf = wsgi_app.sqlite_conf(tmp, {
        "DEFAULT.enabled_import_methods": ["glance-direct"]})
    engine = wsgi_app.migrated_engine(conf)
    recorder = Recorder()
    notifications.subscribe(engine, recorder)
    artifact_notifications.subscribe(engine, recorder)
    yield pytypes.SimpleNamespace(client=wsgi_app.client(conf, engine),
                                  recorder=recorder, engine=engine)
    engine.db.dispose()


H = {"X-Auth-Token": "x"}
OCTET = dict(H, **{"Content-Type": "application/octet-stream"})


def new_image(glare, **body):
    body = dict({"disk_format": "raw", "container_format": "bare"}, **body)
    resp = glare.client.post("/v2/images", json=body, headers=H)
    assert resp.status_code == 201, resp.text
    return resp.json["id"]


def about(glare, image_id):
    return [(p, e, d) for p, e, d in glare.recorder.sent
            if image_id in (json.dumps(d) if isinstance(d, dict) else d)]


def test_upload_sequence_is_glances(glare):
    image_id = new_image(glare, name="n1", foo="bar")
    assert glare.client.put("/v2/images/%s/file" % image_id, data=b"x" * 99,
                            headers=OCTET).status_code == 204
    sent = about(glare, image_id)
    assert [(p, e) for p, e, _ in sent] == [
        ("INFO", "image.create"), ("INFO", "image.update"),
        ("INFO", "image.prepare"), ("INFO", "image.upload"),
        ("INFO", "image.activate"), ("INFO", "image.update")]
    assert [d["status"] for _, _, d in sent] == [
        "queued", "saving", "saving", "active", "active", "active"]
    assert list(sent[2][2]) == UPLOAD_KEYS == list(sent[3][2])
    assert sent[3][2]["size"] == 99


def test_glance_direct_import_sequence_is_glances(glare):
    """As a real Glance 33 sent it: task.create, task.processing, the
    image's import, image.update (lock let go), task.success, task.run."""
    image_id = new_image(glare)
    assert glare.client.put("/v2/images/%s/stage" % image_id, data=b"s" * 50,
                            headers=OCTET).status_code == 204
    before = len(glare.recorder.sent)
    resp = glare.client.post("/v2/images/%s/import" % image_id, json={
        "method": {"name": "glance-direct"}}, headers=H)
    assert resp.status_code == 202, resp.text
    sent = glare.recorder.sent[before:]
    assert [e for _, e, _ in sent] == [
        "task.create", "task.processing", "image.update", "image.prepare",
        "image.upload", "image.activate", "image.update", "image.update",
        "task.success", "task.run"]
    tasks = [d for _, e, d in sent if e.startswith("task.")]
    assert [d["status"] for d in tasks] == ["pending", "processing",
                                            "success", "pending"]
    assert {d["id"] for d in tasks} == {tasks[0]["id"]}
    assert all(list(d) == TASK_KEYS for d in tasks)
    assert tasks[0]["type"] == "api_image_import"
    assert tasks[0]["owner"] == "glare-project"
    # Only a finished task expires.
    assert tasks[0]["expires_at"] is None and tasks[2]["expires_at"]
    shown = glare.client.get("/v2/images/%s/tasks" % image_id,
                             headers=H).json["tasks"]
    assert [t["id"] for t in shown] == [tasks[0]["id"]]


def test_tasks_api_task_that_fails_at_once(glare):
    """POST /v2/tasks of a type the image API makes: created (pending),
    then failed at once, both told; never its input or message."""
    before = len(glare.recorder.sent)
    resp = glare.client.post("/v2/tasks", json={
        "type": "api_image_import", "input": {"secret": "s3cr3t"}},
        headers=H)
    assert resp.status_code == 201, resp.text
    sent = glare.recorder.sent[before:]
    assert [e for _, e, _ in sent] == ["task.create", "task.failure"]
    assert [d["status"] for _, _, d in sent] == ["pending", "failure"]
    assert {d["id"] for _, _, d in sent} == {resp.json["id"]}
    assert "s3cr3t" not in json.dumps(sent)
    assert sent[1][2]["message"] is None and sent[1][2]["expires_at"]


def test_a_refused_upload_is_an_error_then_queued(glare):
    image_id = new_image(glare, disk_format="qcow2")
    resp = glare.client.put("/v2/images/%s/file" % image_id,
                            data=b"z" * 100, headers=OCTET)
    assert resp.status_code == 415
    sent = about(glare, image_id)
    assert [(p, e) for p, e, _ in sent][-3:] == [
        ("INFO", "image.prepare"), ("ERROR", "image.upload"),
        ("INFO", "image.update")]
    assert sent[-2][2].startswith("Failed to upload image data for image "
                                  "%s due to internal error: " % image_id)
    assert sent[-1][2]["status"] == "queued"


def test_a_conflict_before_the_upload_starts_says_nothing(glare):
    """Nothing was claimed, nothing changed: no notification (never one
    for a change that did not happen)."""
    image_id = new_image(glare)
    glare.client.put("/v2/images/%s/file" % image_id, data=b"x",
                     headers=OCTET)
    before = len(about(glare, image_id))
    resp = glare.client.put("/v2/images/%s/file" % image_id, data=b"x",
                            headers=OCTET)
    assert resp.status_code == 409
    resp = glare.client.patch(
        "/v2/images/%s" % image_id, data=json.dumps(
            [{"op": "replace", "path": "/disk_format", "value": "qcow2"}]),
        headers=dict(H, **{"Content-Type": "application/openstack-images-"
                                           "v2.1-json-patch"}))
    assert resp.status_code == 403
    assert len(about(glare, image_id)) == before


def test_download_sends_image_send_once_the_body_is_read(glare):
    image_id = new_image(glare)
    glare.client.put("/v2/images/%s/file" % image_id, data=b"d" * 5000,
                     headers=OCTET)
    before = len(about(glare, image_id))
    resp = glare.client.get("/v2/images/%s/file" % image_id, headers=H)
    assert resp.get_data() == b"d" * 5000
    resp.close()
    sent = about(glare, image_id)[before:]
    assert [(p, e) for p, e, _ in sent] == [("INFO", "image.send")]
    assert sent[0][2]["bytes_sent"] == 5000
    assert sent[0][2]["receiver_tenant_id"] == "glare-project"


def test_members_and_delete(glare):
    image_id = new_image(glare, visibility="shared")
    glare.client.post("/v2/images/%s/members" % image_id,
                      json={"member": "p2"}, headers=H)
    glare.client.put("/v2/images/%s/members/p2" % image_id,
                     json={"status": "rejected"}, headers=H)
    glare.client.delete("/v2/images/%s/members/p2" % image_id, headers=H)
    glare.client.delete("/v2/images/%s" % image_id, headers=H)
    sent = about(glare, image_id)
    assert [e for _, e, _ in sent] == [
        "image.create", "image.member.create", "image.member.update",
        "image.member.delete", "image.delete"]
    assert [d["status"] for _, _, d in sent[1:4]] == [
        "pending", "rejected", "rejected"]
    assert sent[3][2]["deleted"] is True
    assert (sent[4][2]["status"], sent[4][2]["deleted"]) == ("deleted",
                                                            True)


# ------------------------------------------------------------ SentCounter

class FileReader:
    """A store reader over a real file (``fileno`` for sendfile)."""

    def __init__(self, path, offset, length, fail_after=None):
        self.fd = os.open(path, os.O_RDONLY)
        os.lseek(self.fd, offset, os.SEEK_SET)
        self.left = length
        self.fail_after = fail_after
        self.closed = False

    def read(self, n=-1):
        if self.fail_after is not None and self.left <= self.fail_after:
            raise errors.StoreUnavailable("the store went away")
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = os.read(self.fd, n)
        self.left -= len(data)
        return data

    def fileno(self):
        return self.fd

    def close(self):
        self.closed = True
        os.close(self.fd)


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(bytes(range(256)) * 40)        # 10240 bytes
    return path


def counted(reader, length):
    calls = []
    return notifications.SentCounter(
        reader, length, lambda sent, failed: calls.append((sent, failed))
    ), calls


def test_sent_counter_read_path_reports_at_the_end_of_the_data(data_file):
    counter, calls = counted(FileReader(data_file, 0, 10240), 10240)
    while counter.read(4096):
        assert not calls or calls == [(10240, False)]
    assert calls == [(10240, False)]
    counter.close()
    assert calls == [(10240, False)]            # once


def test_sent_counter_client_gone_early_reports_nothing(data_file):
    counter, calls = counted(FileReader(data_file, 0, 10240), 10240)
    counter.read(4096)
    counter.close()
    assert calls == []


def test_sent_counter_store_failure_is_reported_with_what_was_sent(
        data_file):
    counter, calls = counted(FileReader(data_file, 0, 10240,
                                        fail_after=4000), 10240)
    assert len(counter.read(4096)) == 4096
    assert len(counter.read(4096)) == 4096
    with pytest.raises(errors.StoreUnavailable):
        counter.read(4096)
    counter.close()
    assert calls == [(8192, True)]


def test_sent_counter_sendfile_path_counts_what_the_socket_sent(data_file):
    """socket.sendfile, as gunicorn calls it for wsgi.file_wrapper: the
    range [1000, 1000+5000) goes out from the descriptor."""
    left, right = socket.socketpair()
    received = bytearray()

    def receive():
        while len(received) < 5000:
            chunk = right.recv(65536)
            if not chunk:
                break
            received.extend(chunk)
    thread = threading.Thread(target=receive)
    thread.start()
    counter, calls = counted(FileReader(data_file, 1000, 5000), 5000)
    fd = counter.fileno()
    offset = os.lseek(fd, 0, os.SEEK_CUR)
    assert left.sendfile(counter, offset=offset, count=5000) == 5000
    thread.join(10)
    assert calls == [(5000, False)]             # before the response ends
    os.lseek(fd, offset, os.SEEK_SET)           # what gunicorn does next
    counter.close()
    assert calls == [(5000, False)]
    assert bytes(received) == data_file.read_bytes()[1000:6000]
    left.close()
    right.close()


def test_count_sent_is_the_reader_itself_when_off():
    reader = io.BytesIO(b"x")
    engine = pytypes.SimpleNamespace(notifier=pytypes.SimpleNamespace(
        enabled=False))
    assert notifications.count_sent(engine, None, artifact(), reader,
                                    1) is reader
    engine = pytypes.SimpleNamespace(notifier=Recorder(
        disabled=("image.send",)))
    assert notifications.count_sent(engine, None, artifact(), reader,
                                    1) is reader


def test_copy_image_and_store_deletion_in_multi_store(tmp_path):
    """copy-image into a second store: as Glance's import task, the
    progress property update, image.prepare naming the store (backend),
    image.upload, the progress update; DELETE /v2/stores is image.update.
    Uploads name their store in image.prepare too."""
    path = tmp_path / "glare.conf"
    path.write_text("""\
[DEFAULT]
enabled_backends = fast:file, cold:file
enabled_import_methods = [glance-direct,copy-image]
[database]
connection = sqlite:///%(root)s/glare.sqlite
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = %(root)s/fast
[cold]
filesystem_store_datadir = %(root)s/cold
[os_glance_staging_store]
filesystem_store_datadir = %(root)s/staging
""" % {"root": tmp_path})
    conf = config.load(str(path))
    engine = wsgi_app.migrated_engine(conf)
    recorder = Recorder()
    notifications.subscribe(engine, recorder, multi_store=True)
    client = wsgi_app.client(conf, engine)
    try:
        resp = client.post("/v2/images", json={
            "disk_format": "raw", "container_format": "bare"}, headers=H)
        image_id = resp.json["id"]
        assert client.put("/v2/images/%s/file" % image_id, data=b"c" * 64,
                          headers=OCTET).status_code == 204
        prepare = [d for _, e, d in recorder.sent if e == "image.prepare"]
        assert prepare[-1]["backend"] == "fast"
        before = len(recorder.sent)
        resp = client.post("/v2/images/%s/import" % image_id, json={
            "method": {"name": "copy-image"}, "stores": ["cold"]},
            headers=H)
        assert resp.status_code == 202, resp.text
        assert engine.jobs.run_one()
        sent = recorder.sent[before:]
        tasks = [(e, d) for _, e, d in sent if e.startswith("task.")]
        assert [e for e, _ in tasks] == ["task.create", "task.processing",
                                         "task.run", "task.success"]
        assert [d["status"] for _, d in tasks] == ["pending", "processing",
                                                   "pending", "success"]
        sent = [m for m in sent if not m[1].startswith("task.")]
        # The last image.update: the import lock let go (as Glance's).
        assert [(p, e) for p, e, _ in sent] == [
            ("INFO", "image.update"), ("INFO", "image.prepare"),
            ("INFO", "image.upload"), ("INFO", "image.update"),
            ("INFO", "image.update")]
        assert sent[3][2]["properties"]["os_glance_import_task"] == \
            tasks[0][1]["id"]
        assert "os_glance_import_task" not in sent[4][2]["properties"]
        assert sent[0][2]["properties"][
            "os_glance_importing_to_stores"] == "cold"
        assert sent[1][2]["backend"] == "cold"
        assert sent[1][2]["os_glance_importing_to_stores"] == ["cold"]
        assert "backend" not in sent[2][2]
        assert sent[3][2]["properties"]["os_glance_importing_to_stores"] == ""
        before = len(recorder.sent)
        assert client.delete("/v2/stores/cold/%s" % image_id,
                             headers=H).status_code == 204
        assert [e for _, e, _ in recorder.sent[before:]] == ["image.update"]
    finally:
        engine.db.dispose()


def test_an_upload_into_an_image_deleted_meanwhile(glare):
    """The image is deleted while its data streams: Glance's 'could not be
    found after upload' ERROR, and no image.update of a deleted image."""
    from artifacts import types
    from artifacts.context import RequestContext
    image_id = new_image(glare)
    ctx = RequestContext(project_id="glare-project", roles=("admin",))
    images = types.get("images")

    def chunks():
        yield b"a" * 1000
        glare.engine.delete(ctx, images, image_id)
        yield b"b" * 1000
    with pytest.raises(errors.Gone):
        glare.engine.data.upload(ctx, images, image_id, "image", chunks())
    sent = about(glare, image_id)
    assert [(p, e) for p, e, _ in sent] == [
        ("INFO", "image.create"), ("INFO", "image.update"),
        ("INFO", "image.prepare"), ("INFO", "image.delete"),
        ("ERROR", "image.upload")]
    assert sent[-1][2].startswith("Image %s could not be found after "
                                  "upload." % image_id)
