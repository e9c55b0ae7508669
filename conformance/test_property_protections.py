"""Property protections: Glance's ``property_protection_file`` (roles
format) as the Image API applies it.

Run with the protection file of ``glance_runner.PROPERTY_PROTECTIONS`` on
the endpoint (``python -m conformance.run glance|glare
--property-protections``: the same file and options for both servers);
elsewhere these checks skip.  Errors are asked for in text/plain (no
Accept) and compared byte for byte.
"""

import json

import pytest

from conformance.client import PATCH_V21, unique
from conformance.test_errors import plain, plain_detail
from conformance.test_import import (GLANCE_DIRECT, _import, _needs_method,
                                     _stage, _wait_status)
from conformance.test_tasks import JSON, SOMEWHERE, _finished

NO_ACCEPT = {"Accept": None}


def _check(resp, code, body):
    assert resp.status_code == code, (resp.status_code, resp.text)
    assert resp.text == body


def _patch(client, image_id, *ops):
    return client.patch("/v2/images/%s" % image_id, data=json.dumps(ops),
                        headers=dict(NO_ACCEPT,
                                     **{"Content-Type": PATCH_V21}))


def _reserved(name):
    return plain(403, "Attribute '%s' is reserved." % name)


def _absent(name):
    return plain_detail(409, "Property %s does not exist." % name)


@pytest.fixture
def protected(property_protections, admin):
    """A private image of project A with one property of each kind."""
    return admin.create_image(name=unique("prot"), x_admin_only_a="1",
                              x_frozen_a="2", x_blind="3", x_members_a="4",
                              os_distro="any")


def test_create_needs_the_create_permission(property_protections, member):
    """Glance: creating an image with a property the caller may not
    create is 403 "Attribute '<name>' is reserved." (as the explanation)."""
    resp = member.create_image_raw({"name": unique("prot"),
                                    "x_admin_only_a": "1"},
                                   headers=NO_ACCEPT)
    _check(resp, 403, _reserved("x_admin_only_a"))


def test_reads_hide_what_the_caller_may_not_read(protected, admin, member,
                                                  reader):
    """Glance: show and list leave out the properties the caller may not
    read (a '!' one from everybody); the others and the image's own
    attributes are shown."""
    image_id = protected["id"]
    assert "x_blind" not in protected
    seen = {who: client.show(image_id) for who, client in
            (("admin", admin), ("member", member), ("reader", reader))}
    assert seen["admin"]["x_admin_only_a"] == "1"
    assert "x_blind" not in seen["admin"]
    assert "x_admin_only_a" not in seen["member"]
    assert seen["member"]["x_members_a"] == "4"
    assert seen["reader"]["x_frozen_a"] == "2"
    assert "x_members_a" not in seen["reader"]
    assert seen["reader"]["os_distro"] == "any"
    assert seen["reader"]["min_ram"] == 0
    listed = reader.get("/v2/images?name=%s" % protected["name"]).json()
    assert [i["id"] for i in listed["images"]] == [image_id]
    assert "x_members_a" not in listed["images"][0]
    assert listed["images"][0]["x_frozen_a"] == "2"


def test_patch_needs_update_create_and_delete(protected, member, admin):
    """Glance: in PATCH, replacing or removing a property the caller reads
    needs update/delete (403 as the explanation), adding a new one needs
    create, and a property it may not read does not exist for it (409,
    as a detail)."""
    image_id = protected["id"]
    _check(_patch(member, image_id, {"op": "replace", "path": "/x_frozen_a",
                                     "value": "9"}),
           403, _reserved("x_frozen_a"))
    _check(_patch(member, image_id, {"op": "remove", "path": "/x_frozen_a"}),
           403, _reserved("x_frozen_a"))
    _check(_patch(member, image_id, {"op": "add", "path": "/x_admin_only_b",
                                     "value": "9"}),
           403, _reserved("x_admin_only_b"))
    _check(_patch(member, image_id, {"op": "replace",
                                     "path": "/x_admin_only_a",
                                     "value": "9"}),
           409, _absent("x_admin_only_a"))
    _check(_patch(admin, image_id, {"op": "remove", "path": "/x_blind"}),
           409, _absent("x_blind"))
    resp = _patch(member, image_id,
                  {"op": "add", "path": "/x_members_b", "value": "5"},
                  {"op": "replace", "path": "/x_members_a", "value": "6"},
                  {"op": "remove", "path": "/os_distro"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["x_members_a"], body["x_members_b"]) == ("6", "5")
    assert "os_distro" not in body and "x_admin_only_a" not in body
    resp = _patch(admin, image_id, {"op": "replace", "path": "/x_frozen_a",
                                    "value": "7"})
    assert resp.status_code == 200 and resp.json()["x_frozen_a"] == "7"


@pytest.mark.glance_deviation(
    "Glance saves an image with only the properties its editor may read "
    "and deletes the others: any PATCH by a member drops the admin-only "
    "properties")
def test_an_edit_keeps_what_the_editor_cannot_read(protected, member,
                                                    admin):
    """Correct behaviour: a change by a caller who cannot read some
    properties leaves them as they were."""
    resp = _patch(member, protected["id"],
                  {"op": "replace", "path": "/os_distro", "value": "new"})
    assert resp.status_code == 200, resp.text
    assert admin.show(protected["id"])["x_admin_only_a"] == "1"


def _task_with(admin, name, **properties):
    """A legacy import task (admin: the tasks API is admin-only) whose
    image would have ``properties``; the finished task."""
    resp = admin.post("/v2/tasks", headers=JSON, json={
        "type": "import", "input": {
            "import_from": SOMEWHERE, "import_from_format": "qcow2",
            "image_properties": dict(name=name, disk_format="qcow2",
                                     container_format="bare",
                                     **properties)}})
    assert resp.status_code == 201, resp.text
    return _finished(admin, resp.json()["id"])


def test_a_legacy_import_task_needs_the_create_permission(
        property_protections, admin):
    """Glance: a legacy import task runs as its poster, through the
    protections: a property the poster may not create (nobody creates
    x_never_created) fails the task and no image is made."""
    name = unique("prot-task")
    done = _task_with(admin, name, x_never_created="1")
    assert done["status"] == "failure", done
    assert admin.get("/v2/images?name=%s" % name).json()["images"] == []


@pytest.mark.glance_deviation(
    "Glance's task fails with its catch-all 'Task failed due to Internal "
    "Error'")
def test_a_legacy_import_task_names_the_refused_property(
        property_protections, admin):
    """Correct behaviour: the failed task's message names the property,
    in the words of the image create's 403."""
    done = _task_with(admin, unique("prot-task"), x_never_created="1")
    assert (done["status"], done["message"]) == (
        "failure", "Attribute 'x_never_created' is reserved.")


@pytest.mark.glance_deviation(
    "Glance's import saves the image through the importer's protections "
    "and deletes the properties it may not read")
def test_an_import_keeps_what_the_importer_cannot_read(
        property_protections, member, admin, discovery):
    """Correct behaviour: a glance-direct import by a caller who cannot
    read some properties leaves them as they were; the import itself
    needs no property permission (Glance's os_glance_* bookkeeping is
    the server's)."""
    _needs_method(discovery, "glance-direct")
    image_id = admin.create_image(
        name=unique("prot"), disk_format="raw", container_format="bare",
        x_admin_only_a="1", x_frozen_a="2")["id"]
    assert _stage(member, image_id).status_code == 204
    resp = _import(member, image_id, GLANCE_DIRECT)
    assert resp.status_code == 202, resp.text
    _wait_status(member, image_id, "active")
    shown = admin.show(image_id)
    assert (shown["x_admin_only_a"], shown["x_frozen_a"]) == ("1", "2")
