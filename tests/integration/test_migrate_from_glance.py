"""A migrated Glance served by a real Glare, read with python-glanceclient.

Glance rows (real Glance 33 schema, written with SQL as Glance's database
API writes them) are migrated into the database of a running Glare; then
glanceclient, as admin and as the projects involved, shows the records,
lists them, reads members and downloads the bytes (glanceclient checks
them against os_hash_value) where Glance keeps them; a deleted image's id
cannot be taken again (409).  The comparison with a running Glance is the
end-to-end fixture's job; this pins what the records must be.
"""

import hashlib
import os

import glanceclient
import pytest
import requests

from migrate_from_glance import migrate, Options, target_engine, verify
from tests.conftest import database_url, glare_server
from tests.integration.helpers import ADMIN, project_headers
from tests.migrate_from_glance.conftest import GlanceRows, glance_db

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def migrated(db_kind, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("migrated-%s" % db_kind)
    datadir = tmp / "glance-images"
    datadir.mkdir()
    with glance_db(db_kind, tmp) as src, database_url(db_kind, tmp) as dst:
        rows = GlanceRows(src, datadir=str(datadir))
        data = os.urandom(300000)
        ids = {
            "public": rows.image(data=data, visibility="public",
                                 owner="project-a", name="cirros",
                                 properties={"os_distro": "cirros",
                                             "hw_disk_bus": "virtio"},
                                 tags=["gold"]),
            "shared": rows.image(visibility="shared", owner="project-a",
                                 members=[("project-b", "accepted"),
                                          ("project-c", "pending")]),
            "private": rows.image(visibility="private", owner="project-b",
                                  protected=True),
            "deleted": rows.image(status="deleted", deleted=True,
                                  owner="project-a"),
        }
        rows.data = data
        with glare_server(tmp, dst, extra_conf="show_multiple_locations = "
                          "True\nshow_image_direct_url = True",
                          extra_sections="[store:glance]\ndriver = "
                          "filesystem\ndatadir = %s\n" % datadir) as server:
            engine = target_engine(server.config)
            report = migrate(src, engine, Options(show_progress=False))
            assert report.ok, report.render()
            assert verify(src, engine, Options(), data=True) == []
            engine.db.dispose()
            yield server, rows, ids
        rows.dispose()


def client(server, project=None):
    gc = glanceclient.Client("2", endpoint=server.url, token="x")
    if project:
        gc.http_client.session.headers.update(project_headers(project))
    return gc


def test_show_has_glance_fields(migrated):
    server, rows, ids = migrated
    image = client(server).images.get(ids["public"])
    assert image.name == "cirros" and image.status == "active"
    assert image.visibility == "public" and image.owner == "project-a"
    assert image.os_distro == "cirros" and image.hw_disk_bus == "virtio"
    assert image.tags == ["gold"] and image.size == len(rows.data)
    assert image.checksum == hashlib.md5(rows.data).hexdigest()
    assert image.os_hash_value == hashlib.sha512(rows.data).hexdigest()
    assert image.locations == [{"url": "file://%s/%s" % (
        rows.datadir, ids["public"]), "metadata": {}}]
    raw = requests.get(server.url + "/v2/images/" + ids["public"],
                       headers=ADMIN, timeout=30).json()
    # The first image GlanceRows wrote: 2024-03-01 12:00:01.124457.
    assert raw["created_at"] == raw["updated_at"] == "2024-03-01T12:00:01Z"


def test_download_reads_glance_s_file(migrated):
    server, rows, ids = migrated
    body = b"".join(client(server, "project-b").images.data(ids["public"]))
    assert body == rows.data


def test_projects_see_what_glance_shows_them(migrated):
    server, rows, ids = migrated
    seen_b = {i["id"] for i in client(server, "project-b").images.list()}
    assert {ids["public"], ids["shared"], ids["private"]} <= seen_b
    seen_c = {i["id"] for i in client(server, "project-c").images.list()}
    assert ids["public"] in seen_c and ids["shared"] not in seen_c
    assert ids["private"] not in seen_c and ids["deleted"] not in seen_c
    members = {m["member_id"]: m["status"] for m in
               client(server, "project-a").image_members.list(ids["shared"])}
    assert members == {"project-b": "accepted", "project-c": "pending"}


def test_deleted_image_is_gone_and_its_id_taken(migrated):
    server, rows, ids = migrated
    resp = requests.get(server.url + "/v2/images/" + ids["deleted"],
                        headers=ADMIN, timeout=30)
    assert resp.status_code == 404
    resp = requests.post(server.url + "/v2/images", headers=ADMIN, json={
        "id": ids["deleted"], "name": "reuse"}, timeout=30)
    assert resp.status_code == 409, resp.text


def test_protected_image_stays_protected(migrated):
    server, rows, ids = migrated
    resp = requests.delete(server.url + "/v2/images/" + ids["private"],
                           headers=ADMIN, timeout=30)
    assert resp.status_code == 403
