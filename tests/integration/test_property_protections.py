"""Property protections through a real Glare and python-glanceclient, on
every database: a protection file in the roles format (written for Glance)
governs what glanceclient may create, see, change and remove.  (Error
texts are HTML-escaped by WebOb, in Glance as here.)"""

import html
import uuid

import glanceclient
import pytest
import requests
from glanceclient import exc

from tests.conftest import database_url, glare_server
from tests.integration.helpers import IMAGE_PATCH, project_headers

pytestmark = pytest.mark.integration

PROTECTIONS = """\
[^owner_only_.*]
create = admin,member
read = admin,member
update = admin
delete = admin

[^x_hidden$]
create = admin
read = !
update = !
delete = !

[.*]
create = admin,member
read = admin,member,reader
update = admin,member
delete = admin,member
"""


@pytest.fixture(scope="module")
def srv(db_kind, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("protections-%s" % db_kind)
    path = tmp / "property-protections.conf"
    path.write_text(PROTECTIONS)
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_conf=(
                "property_protection_file = %s\n"
                "property_protection_rule_format = roles\n" % path)) as server:
            yield server


def client(server, project, roles):
    gc = glanceclient.Client("2", endpoint=server.url, token="x")
    gc.http_client.session.headers.update(
        project_headers(project, roles=roles))
    return gc


@pytest.fixture
def project():
    return "pp-" + uuid.uuid4().hex[:10]


def test_create_refused_for_a_property_the_caller_may_not_create(srv,
                                                                  project):
    member = client(srv, project, "member,reader")
    with pytest.raises(exc.HTTPForbidden) as raised:
        member.images.create(name="n", disk_format="raw",
                             container_format="bare", x_hidden="1")
    assert "Attribute 'x_hidden' is reserved." in html.unescape(str(raised.value))


def test_what_each_role_sees_and_changes(srv, project):
    member = client(srv, project, "member,reader")
    reader = client(srv, project, "reader")
    admin = client(srv, project, "admin,member,reader")
    image = admin.images.create(name="n", disk_format="raw",
                                container_format="bare", owner_only_a="1",
                                x_hidden="h", os_distro="debian")
    assert "x_hidden" not in image
    seen = reader.images.get(image.id)
    assert seen.os_distro == "debian" and "owner_only_a" not in seen
    assert member.images.get(image.id).owner_only_a == "1"
    listed = [i for i in reader.images.list(filters={"owner": project})]
    assert [i.id for i in listed] == [image.id]
    assert "owner_only_a" not in listed[0]

    # glanceclient sends replace for a property it sees: update needed.
    with pytest.raises(exc.HTTPForbidden) as raised:
        member.images.update(image.id, owner_only_a="2")
    assert "Attribute 'owner_only_a' is reserved." in html.unescape(str(raised.value))
    with pytest.raises(exc.HTTPForbidden):
        member.images.update(image.id, remove_props=["owner_only_a"])
    # Allowed: [.*] for members; the hidden property survives the edit.
    updated = member.images.update(image.id, os_distro="fedora",
                                   hw_disk_bus="virtio")
    assert updated.os_distro == "fedora" and "x_hidden" not in updated
    # A property hidden from everybody: glanceclient does not see it, so
    # it sends nothing to remove; a PATCH that names it is Glance's 409.
    admin.images.update(image.id, remove_props=["x_hidden"])
    resp = requests.patch(
        "%s/v2/images/%s" % (srv.url, image.id),
        json=[{"op": "remove", "path": "/x_hidden"}], timeout=30,
        headers=dict(project_headers(project, roles="admin"),
                     **{"Content-Type": IMAGE_PATCH}))
    assert resp.status_code == 409
    assert "Property x_hidden does not exist." in html.unescape(resp.text)
    updated = admin.images.update(image.id, owner_only_a="3",
                                  remove_props=["hw_disk_bus"])
    assert updated.owner_only_a == "3" and "hw_disk_bus" not in updated
