"""artifact.* notifications of the Artifact API's types
(artifacts/api/notifications.py)."""

import datetime
import hashlib

import pytest

from artifacts import types
from artifacts.api import notifications

OCTET = {"Content-Type": "application/octet-stream"}


class Recorder:
    enabled = True

    def __init__(self):
        self.sent = []

    def info(self, event_type, payload):
        self.sent.append((event_type, payload))

    def about(self, artifact_id):
        return [(e, p) for e, p in self.sent
                if artifact_id in (p.get("id"), p.get("artifact_id"))]


@pytest.fixture(scope="module")
def recorder(glare):
    recorder = Recorder()
    notifications.subscribe(glare.engine, recorder)
    return recorder


def test_lifecycle_events_and_payloads(api, recorder):
    art = api.create(name="tpl", version="1.2.0", description="d")
    base = "/artifacts/heat_templates/%s" % art["id"]
    assert api.put_data(base + "/template", b"tpl").status_code == 200
    api.patch(base, [{"op": "replace", "path": "/description",
                      "value": "e"}])
    api.action(art, "activate")
    api.action(art, "deactivate")
    api.action(art, "reactivate")
    assert api.delete(base).status_code == 204
    sent = recorder.about(art["id"])
    assert [e for e, _ in sent] == [
        "artifact.create", "artifact.upload", "artifact.update",
        "artifact.activate", "artifact.deactivate", "artifact.reactivate",
        "artifact.delete"]
    create, upload, update, activate, deactivate, reactivate, delete = [
        p for _, p in sent]
    assert (create["type_name"], create["name"], create["version"],
            create["status"], create["template"], create["deleted"]) == (
        "heat_templates", "tpl", "1.2.0", "drafted", None, False)
    assert upload["template"] == {
        "size": 3, "md5": hashlib.md5(b"tpl").hexdigest(),
        "sha1": hashlib.sha1(b"tpl").hexdigest(),
        "sha256": hashlib.sha256(b"tpl").hexdigest(), "status": "active",
        "external": False}
    assert upload["uploaded"] == {"field": "template", "path": None}
    assert update["description"] == "e"
    assert [p["status"] for p in (activate, deactivate, reactivate)] == [
        "active", "deactivated", "active"]
    assert (delete["status"], delete["deleted"]) == ("deleted", True)
    assert delete["deleted_at"].endswith("Z")


def test_folder_files_and_members(api, recorder):
    art = api.create(name="shared-tpl", visibility="shared")
    base = "/artifacts/heat_templates/%s" % art["id"]
    assert api.put_data(base + "/nested_templates/a/b.yaml",
                        b"x").status_code == 200
    api.post(base + "/members", {"member": "p2"})
    api.delete(base + "/members/p2")
    sent = recorder.about(art["id"])
    assert [e for e, _ in sent] == [
        "artifact.create", "artifact.upload", "artifact.member.create",
        "artifact.member.delete"]
    assert sent[1][1]["uploaded"] == {"field": "nested_templates",
                                      "path": "a/b.yaml"}
    assert list(sent[1][1]["nested_templates"]) == ["a/b.yaml"]
    member = sent[2][1]
    assert (member["type_name"], member["member"], member["status"],
            member["deleted"]) == ("heat_templates", "p2", "pending", False)
    assert sent[3][1]["deleted"] is True


def test_a_refused_upload_says_nothing(api, recorder):
    art = api.create(name="big")
    before = len(recorder.about(art["id"]))
    resp = api.put_data("/artifacts/heat_templates/%s/template" % art["id"],
                        b"x" * (11 * 1024 * 1024))
    assert resp.status_code == 413
    assert len(recorder.about(art["id"])) == before


def test_payload_of_any_type():
    atype = types.get("heat_templates")
    when = datetime.datetime(2024, 1, 2, 3, 4, 5)
    art = {"id": "i", "type_name": "heat_templates", "name": "n",
           "version": (1, 0, 0, "", ""), "owner": "p", "visibility":
           "private", "status": "drafted", "tags": {"b", "a"},
           "created_at": when, "updated_at": when, "blobs": [],
           "properties": {"description": "d"}}
    payload = notifications.artifact_payload(atype, art)
    assert payload["version"] == "1.0.0" and payload["tags"] == ["a", "b"]
    assert payload["created_at"] == "2024-01-02T03:04:05Z"
    assert payload["nested_templates"] == {} and payload["template"] is None
    assert (payload["deleted"], payload["deleted_at"]) == (False, None)
