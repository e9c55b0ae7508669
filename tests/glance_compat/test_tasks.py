"""glance_compat.tasks: Glance's task views and request checks, through the
WSGI app on a migrated SQLite database (no server, no task runner: tasks
stay as created)."""

import datetime
import uuid

import pytest

from glance_compat import tasks as views
from tests import wsgi_app

ADMIN = {"X-Auth-Token": "x", "Accept": "application/json"}
MEMBER = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p-member",
          "X-User-Id": "u-member", "X-Roles": "member,reader",
          "Accept": "application/json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("tasks-app")
    return wsgi_app.client(wsgi_app.sqlite_conf(root, {
        "oslo_policy.policy_file": wsgi_app.NO_POLICY_FILE}))


TASK = {"id": "t1", "input": {"a": 1}, "type": "import", "status": "pending",
        "owner": "p", "message": "", "result": None,
        "created_at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901),
        "updated_at": datetime.datetime(2026, 1, 2, 3, 4, 6),
        "artifact_id": None, "request_id": "req-1", "user_id": None,
        "expires_at": None}


def test_views_have_glances_keys_in_glances_order():
    assert list(views.task_view(TASK)) == [
        "id", "input", "type", "status", "owner", "message", "result",
        "created_at", "updated_at", "self", "schema", "request_id"]
    assert views.task_view(TASK)["created_at"] == "2026-01-02T03:04:05Z"
    done = dict(TASK, artifact_id="img", user_id="u", expires_at=TASK[
        "updated_at"])
    assert list(views.task_view(done))[-4:] == [
        "image_id", "request_id", "user_id", "expires_at"]
    assert list(views.stub_view(done)) == [
        "id", "type", "status", "owner", "created_at", "updated_at", "self",
        "schema", "expires_at"]
    raw = views.image_task_view(done)
    assert raw["created_at"] == "2026-01-02T03:04:05.678901"
    assert raw["updated_at"] == "2026-01-02T03:04:06.000000"
    assert (raw["deleted"], raw["deleted_at"]) == (False, None)


def test_create_shows_the_pending_task_and_its_location(client):
    resp = client.post("/v2/tasks", headers=ADMIN, json={
        "type": "import", "input": {"import_from": "http://8.8.8.8/x"}})
    assert resp.status_code == 201, resp.text
    task = resp.json
    assert task["status"] == "pending" and task["message"] == ""
    assert resp.headers["Location"] == "http://localhost/v2/tasks/" + \
        task["id"]
    assert client.get("/v2/tasks/" + task["id"], headers=ADMIN).json[
        "input"] == {"import_from": "http://8.8.8.8/x"}


@pytest.mark.parametrize("body,words", [
    (["type", "input"], "must be a JSON object"),
    ({"type": "api_image_import", "input": {}}, None),
])
def test_odd_bodies(client, body, words):
    resp = client.post("/v2/tasks", headers=ADMIN, json=body)
    if words:
        assert resp.status_code == 400 and words in resp.json["message"]
        return
    # Other task types are made by the image API: created, failed at once.
    assert resp.status_code == 201
    shown = client.get("/v2/tasks/" + resp.json["id"], headers=ADMIN).json
    assert (shown["status"], shown["message"]) == (
        "failure", "Input to api_image_import task is empty.")


def test_members_need_the_tasks_rule_but_not_for_image_tasks(client):
    assert client.get("/v2/tasks", headers=MEMBER).status_code == 403
    image = client.post("/v2/images", headers=MEMBER, json={
        "name": "x"}).json
    resp = client.get("/v2/images/%s/tasks" % image["id"], headers=MEMBER)
    assert resp.status_code == 200 and resp.json == {"tasks": []}
    missing = client.get("/v2/images/%s/tasks" % uuid.uuid4(),
                         headers=MEMBER)
    assert missing.status_code == 404


def test_list_links_keep_the_query(client):
    for _ in range(2):
        client.post("/v2/tasks", headers=ADMIN, json={
            "type": "import", "input": {"import_from": "http://8.8.8.8/x"}})
    body = client.get("/v2/tasks?limit=1&type=import",
                      headers=ADMIN).json
    assert body["first"] == "/v2/tasks?limit=1&type=import"
    assert body["next"] == "/v2/tasks?limit=1&type=import&marker=%s" % body[
        "tasks"][0]["id"]
    assert client.get("/v2/tasks?limit=0", headers=ADMIN).json["tasks"] == []


def test_the_per_call_task_rules_of_an_operator_file_apply(tmp_path):
    """Glance registers add_task, get_tasks and get_task; with the tasks
    API opened to members, an operator's file that keeps listing to
    admins is honoured call by call."""
    policy = wsgi_app.policy_file(tmp_path,
                                  '"tasks_api_access": "role:member"\n'
                                  '"get_tasks": "role:admin"\n')
    client = wsgi_app.client(wsgi_app.sqlite_conf(tmp_path, {
        "oslo_policy.policy_file": policy}))
    made = client.post("/v2/tasks", headers=MEMBER, json={
        "type": "import", "input": {"import_from": "http://8.8.8.8/x"}})
    assert made.status_code == 201, made.text
    assert client.get("/v2/tasks/" + made.json["id"],
                      headers=MEMBER).status_code == 200
    listed = client.get("/v2/tasks", headers=MEMBER)
    assert listed.status_code == 403
    assert "get_tasks" in listed.text
    assert client.get("/v2/tasks", headers=ADMIN).status_code == 200
