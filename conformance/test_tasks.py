"""Tasks (/v2/tasks, /v2/images/{id}/tasks, the task schemas) and the
web-download import method.

The tasks API is admin-only by default (``tasks_api_access``); the image's
task list needs only ``get_image``.  web-download checks skip unless
/v2/info/import offers it.  No check fetches anything: a URI either fails
the filtering (400) or names a global address the tests never expect to
serve an image (its task fails).
"""

import time
import uuid

import pytest

from conformance.test_import import _import, _needs_method, _stage

JSON = {"Accept": "application/json"}
TASK_KEYS = ["id", "input", "type", "status", "owner", "message", "result",
             "created_at", "updated_at", "self", "schema"]
STUB_KEYS = ["id", "type", "status", "owner", "created_at", "updated_at",
             "self", "schema"]
IMAGE_TASK_KEYS = ["id", "type", "status", "owner", "expires_at",
                   "created_at", "updated_at", "deleted_at", "deleted",
                   "image_id", "request_id", "user_id", "input", "result",
                   "message"]
SOMEWHERE = "http://8.8.8.8/conformance.img"


def _message(resp):
    return resp.json()["message"]


def _legacy(admin, **task_input):
    return admin.post("/v2/tasks", json={"type": "import",
                                         "input": task_input}, headers=JSON)


def _finished(admin, task_id, timeout=180):
    deadline = time.time() + timeout
    while True:
        task = admin.get("/v2/tasks/" + task_id, headers=JSON).json()
        if task["status"] in ("success", "failure"):
            return task
        assert time.time() < deadline, task
        time.sleep(0.2)


def _image_tasks(client, image_id, finished=True, timeout=180):
    deadline = time.time() + timeout
    while True:
        resp = client.get("/v2/images/%s/tasks" % image_id, headers=JSON)
        assert resp.status_code == 200, resp.text
        tasks = resp.json()["tasks"]
        if not finished or (tasks and all(
                t["status"] in ("success", "failure") for t in tasks)):
            return tasks
        assert time.time() < deadline, tasks
        time.sleep(0.2)


# ------------------------------------------------------------ the schemas


def test_task_schema(member):
    """Glance: /v2/schemas/task is the minimal task schema: name and the
    properties, with the type enum of Glance 33."""
    doc = member.get("/v2/schemas/task", headers=JSON).json()
    assert list(doc) == ["name", "properties"] and doc["name"] == "task"
    assert list(doc["properties"]) == [
        "id", "type", "status", "input", "result", "owner", "message",
        "image_id", "request_id", "user_id", "expires_at", "created_at",
        "updated_at", "self", "schema"]
    assert doc["properties"]["type"]["enum"] == [
        "import", "api_image_import", "location_import"]
    assert doc["properties"]["status"]["enum"] == [
        "pending", "processing", "success", "failure"]


def test_tasks_schema(member):
    """Glance: /v2/schemas/tasks embeds the task schema without input,
    result and message, with a describedby link."""
    doc = member.get("/v2/schemas/tasks", headers=JSON).json()
    task = member.get("/v2/schemas/task", headers=JSON).json()
    assert list(doc) == ["name", "properties", "links"]
    items = doc["properties"]["tasks"]["items"]
    assert items["name"] == "task"
    assert items["properties"] == {k: v for k, v in task[
        "properties"].items() if k not in ("input", "result", "message")}
    assert doc["links"] == [{"rel": "describedby", "href": "{schema}"}]


# ----------------------------------------------------------- the tasks API


@pytest.mark.parametrize("method,path", [
    ("GET", "/v2/tasks"), ("POST", "/v2/tasks"),
    ("GET", "/v2/tasks/%s" % uuid.uuid4()),
    ("DELETE", "/v2/tasks/%s" % uuid.uuid4())])
def test_tasks_api_is_admin_only(member, method, path):
    """Glance 33: every task call needs tasks_api_access, admin only by
    default: 403 for a project member, before anything else."""
    body = {"type": "import", "input": {}} if method == "POST" else None
    resp = member.request(method, path, json=body, headers=JSON)
    assert resp.status_code == 403
    assert _message(resp).startswith("You are not authorized to complete "
                                     "tasks_api_access action.")


def test_task_list_shape(admin):
    """Glance: GET /v2/tasks is {"tasks": [...], "first", "schema"} (and
    "next" on a full page); each entry a stub without input, result or
    message."""
    resp = admin.get("/v2/tasks?limit=1", headers=JSON)
    assert resp.status_code == 200
    body = resp.json()
    assert body["first"] == "/v2/tasks?limit=1"
    assert body["schema"] == "/v2/schemas/tasks"
    for stub in body["tasks"]:
        keys = list(stub)
        assert keys[:8] == STUB_KEYS and set(keys[8:]) <= {"expires_at"}
    if body["tasks"]:
        assert body["next"] == "/v2/tasks?limit=1&marker=%s" % body[
            "tasks"][0]["id"]


@pytest.mark.parametrize("body,words", [
    ({"type": "import"}, "Task 'input' is required"),
    ({"input": {}}, "Task 'type' is required"),
    ([], "Task 'type' is required"),
    ({"type": "bogus", "input": {}},
     "Provided object does not match schema 'task': 'bogus' is not one of"),
    ({"type": "import", "input": "x"},
     "Provided object does not match schema 'task': 'x' is not of type"),
    ({"type": "import", "input": {"import_from": SOMEWHERE}, "x": 1},
     "Provided object does not match schema 'task': Additional properties "
     "are not allowed ('x' was unexpected)"),
    ({"type": "import", "input": {}}, "Invalid location: None"),
    ({"type": "import", "input": {"import_from": "file:///etc/passwd"}},
     "File based imports are not allowed. Please use a non-local source of "
     "image data."),
    ({"type": "import", "input": {"import_from": "ftp://example.com/x"}},
     "The given uri is not valid. Please specify a valid uri from the "
     "following list of supported uri ['http']"),
    ({"type": "import", "input": {"import_from": "http://127.0.0.1/x"}},
     "URI for legacy import task does not pass filtering: "
     "http://127.0.0.1/x"),
    ({"type": "import", "input": {"import_from": "http://2130706433/x"}},
     "URI for legacy import task does not pass filtering: "
     "http://2130706433/x"),
])
def test_task_create_errors(admin, body, words):
    """Glance: POST /v2/tasks checks type and input, the task schema, then
    an import task's import_from (its scheme and the import filters)."""
    resp = admin.post("/v2/tasks", json=body, headers=JSON)
    assert resp.status_code == 400, resp.text
    assert _message(resp).startswith(words), _message(resp)


def test_task_create_and_show(admin):
    """Glance: POST /v2/tasks is 201 with an absolute Location and the
    pending task (input as given, message "", result null, the request id
    and user id); an import task whose input lacks a key then fails with
    "Input does not contain '<key>' field" and an expiry 48 h later."""
    resp = _legacy(admin, import_from=SOMEWHERE)
    assert resp.status_code == 201, resp.text
    task = resp.json()
    assert resp.headers["Location"].endswith("/v2/tasks/" + task["id"])
    assert resp.headers["Location"].startswith("http")
    assert list(task) == TASK_KEYS + ["request_id", "user_id"]
    assert (task["type"], task["status"], task["message"], task["result"],
            task["input"]) == ("import", "pending", "", None,
                               {"import_from": SOMEWHERE})
    assert task["owner"] == admin.project_id
    assert task["user_id"] == admin.identity.user_id
    assert task["request_id"] == resp.headers["x-openstack-request-id"]
    assert task["self"] == "/v2/tasks/" + task["id"]
    assert task["schema"] == "/v2/schemas/task"
    done = _finished(admin, task["id"])
    assert done["status"] == "failure"
    assert done["message"] == "Input does not contain 'import_from_format' " \
                              "field"
    assert list(done) == TASK_KEYS + ["request_id", "user_id", "expires_at"]
    assert done["expires_at"].endswith("Z")


def test_task_list_filters_sorting_and_paging(admin):
    """Glance: status and type filters (only 'import'), sort_key/sort_dir
    and marker paging; invalid values are 400 with Glance's words."""
    made = [_legacy(admin, import_from=SOMEWHERE).json()["id"]
            for _ in range(3)]
    page = admin.get("/v2/tasks?type=import&limit=2", headers=JSON).json()
    assert [t["id"] for t in page["tasks"]] == made[::-1][:2]
    assert page["next"] == ("/v2/tasks?type=import&limit=2&marker=%s"
                            % made[1])
    rest = admin.get(page["next"], headers=JSON).json()
    assert rest["tasks"][0]["id"] == made[0]
    assert rest["first"] == "/v2/tasks?type=import&limit=2"
    for status in ("pending", "failure"):
        listed = admin.get("/v2/tasks?status=%s&limit=1000" % status,
                           headers=JSON).json()["tasks"]
        assert {t["status"] for t in listed} <= {status}
    oldest = admin.get("/v2/tasks?type=import&sort_dir=asc&limit=1000",
                       headers=JSON).json()["tasks"]
    ids = [t["id"] for t in oldest]
    assert ids.index(made[0]) < ids.index(made[1]) < ids.index(made[2])


@pytest.mark.parametrize("query,words", [
    ("status=bogus", "Invalid status value: bogus"),
    ("type=api_image_import", "Invalid type value: api_image_import"),
    ("sort_dir=up", "Invalid sort direction: up"),
    ("sort_key=bogus", "Sort key supplied was not valid."),
    ("limit=-1", "limit param must be positive"),
    ("limit=x", "limit param must be an integer"),
    ("marker=abc", "Invalid marker format"),
    ("marker=00000000-0000-4000-8000-000000000000",
     "Task with the given id 00000000-0000-4000-8000-000000000000 was not "
     "found"),
])
def test_task_list_errors(admin, query, words):
    resp = admin.get("/v2/tasks?" + query, headers=JSON)
    assert resp.status_code == 400
    assert _message(resp).startswith(words)


def test_missing_task_is_404(admin):
    task_id = str(uuid.uuid4())
    resp = admin.get("/v2/tasks/" + task_id, headers=JSON)
    assert resp.status_code == 404
    assert _message(resp).startswith("Could not find task " + task_id)


def test_task_delete_is_405(admin):
    """Glance: tasks cannot be deleted: 405, Allow: GET, and a message
    about expires_at (without WebOb's HTML tail)."""
    resp = admin.delete("/v2/tasks/%s" % uuid.uuid4(), headers=JSON)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET"
    assert _message(resp) == (
        "This operation is currently not permitted on Glance Tasks. They "
        "are auto deleted after reaching the time based on their expires_at "
        "property.")


def test_task_collection_other_methods_are_405(admin):
    resp = admin.put("/v2/tasks", headers=JSON)
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, POST"


# ------------------------------------------------ an image's own tasks


def test_image_tasks_of_a_glance_direct_import(member, discovery):
    """Glance (v2.12): GET /v2/images/{id}/tasks lists the import's task
    in its raw database form (no self/schema, deleted and deleted_at,
    naive timestamps with microseconds) with the import's request id and
    user id, its input (image_id, the request body, backend [null] with
    one store), result {"image_id"} and "Copied 0 MiB" (Tempest's
    test_image_glance_direct_import checks request_id)."""
    _needs_method(discovery, "glance-direct")
    image = member.create_image(disk_format="raw", container_format="bare")
    assert _stage(member, image["id"]).status_code == 204
    body = {"method": {"name": "glance-direct"}}
    resp = _import(member, image["id"], body)
    assert resp.status_code == 202
    [task] = _image_tasks(member, image["id"])
    assert list(task) == IMAGE_TASK_KEYS
    assert (task["type"], task["status"], task["owner"], task["image_id"],
            task["user_id"], task["deleted"], task["deleted_at"]) == (
        "api_image_import", "success", member.project_id, image["id"],
        member.identity.user_id, False, None)
    assert task["request_id"] == resp.headers["x-openstack-request-id"]
    assert task["result"] == {"image_id": image["id"]}
    assert task["message"] == "Copied 0 MiB"
    if member.get("/v2/info/stores").status_code == 404:
        assert task["input"] == {"image_id": image["id"], "import_req": body,
                                 "backend": [None]}
    for key in ("created_at", "updated_at", "expires_at"):
        value = task[key]
        assert len(value) == 26 and value[19] == "." and value[10] == "T"


def test_image_tasks_need_a_visible_image(member, member_b):
    """Glance: the tasks of an image the caller cannot see, or of no
    image, are a bare 404."""
    image = member.create_image(visibility="private")
    assert member.get("/v2/images/%s/tasks" % image["id"]).json() == {
        "tasks": []}
    for image_id in (image["id"], str(uuid.uuid4())):
        resp = member_b.get("/v2/images/%s/tasks" % image_id, headers=JSON)
        assert resp.status_code == 404
        assert _message(resp).startswith("The resource could not be found.")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_image_tasks_other_methods_are_404(member, method):
    """Glance routes only GET there: any other method is 404."""
    image = member.create_image()
    resp = member.request(method, "/v2/images/%s/tasks" % image["id"],
                          headers=JSON)
    assert resp.status_code == 404


# ------------------------------------------------------------ web-download


@pytest.mark.parametrize("uri", [
    "http://127.0.0.1/x", "http://169.254.169.254/latest/meta-data",
    "http://[::1]/x", "http://[::ffff:127.0.0.1]/x", "http://2130706433/x",
    "http://0177.0.0.1/x", "http://0x7f000001/x", "http://localhost/x",
    "http://１２７．０．０．１/x", "http://does-not.exist/x",
    "ftp://example.com/x", "http://8.8.8.8:8080/x", None,
])
def test_web_download_uri_filtering(member, discovery, uri):
    """Glance: a web-download URI that fails [import_filtering_opts]
    (default: http/https, ports 80 and 443 when named), names a loopback
    or link-local address in any spelling, or does not resolve is 400
    "URI for web-download does not pass filtering: <uri>", before any task
    exists."""
    _needs_method(discovery, "web-download")
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = _import(member, image["id"], {"method": {
        "name": "web-download", "uri": uri}}, headers=JSON)
    assert resp.status_code == 400, resp.text
    assert _message(resp).startswith(
        "URI for web-download does not pass filtering: %s" % uri)
    assert member.show(image["id"])["status"] == "queued"
    assert _image_tasks(member, image["id"], finished=False) == []


@pytest.mark.glance_deviation(
    "Glance 33 fetches private (RFC 1918) addresses: any user who may "
    "import can make the server reach hosts of its internal network")
@pytest.mark.parametrize("uri", ["http://10.0.0.1/x", "http://192.168.1.1/x",
                                 "http://[fc00::1]/x"])
def test_web_download_of_private_addresses_is_refused(member, discovery,
                                                      uri):
    _needs_method(discovery, "web-download")
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = _import(member, image["id"], {"method": {
        "name": "web-download", "uri": uri}}, headers=JSON)
    assert resp.status_code == 400, resp.text
    assert _message(resp).startswith(
        "URI for web-download does not pass filtering: %s" % uri)


def test_web_download_needs_a_queued_image(member, discovery):
    """Glance: web-download needs a queued image: 409 for an active one,
    and for a staged one 'Image needs to be in 'queued' state ...'."""
    _needs_method(discovery, "web-download")
    active = member.create_active()
    body = {"method": {"name": "web-download", "uri": SOMEWHERE}}
    resp = _import(member, active["id"], body, headers=JSON)
    assert resp.status_code == 409
    assert _message(resp).startswith("Image with status active cannot be "
                                     "target for import")
    staged = member.create_image(disk_format="raw", container_format="bare")
    assert _stage(member, staged["id"]).status_code == 204
    resp = _import(member, staged["id"], body, headers=JSON)
    assert resp.status_code == 409
    assert _message(resp).startswith("Image needs to be in 'queued' state "
                                     "to use 'web-download' method")


def test_web_download_that_fails_queues_the_image(member, discovery):
    """Glance: a URI that passes the filters is accepted (202) and its
    task runs outside the request; when the fetch fails the task is a
    failure, the image is queued again with empty progress properties,
    and the task shows the request id."""
    _needs_method(discovery, "web-download")
    image = member.create_image(disk_format="raw", container_format="bare")
    resp = _import(member, image["id"], {"method": {
        "name": "web-download", "uri": SOMEWHERE}})
    assert resp.status_code == 202 and resp.content == b""
    [task] = _image_tasks(member, image["id"])
    assert task["status"] == "failure" and task["message"]
    assert task["request_id"] == resp.headers["x-openstack-request-id"]
    assert task["input"]["import_req"]["method"] == {
        "name": "web-download", "uri": SOMEWHERE}
    deadline = time.time() + 30
    while True:
        shown = member.show(image["id"])
        if "os_glance_import_task" not in shown:
            break
        assert time.time() < deadline, shown
        time.sleep(0.2)
    assert shown["status"] == "queued"
    assert shown["os_glance_importing_to_stores"] == ""
    assert shown["size"] is None and shown["checksum"] is None
