"""Glance's unified-limits names through real clients on a real server:
an admin sets a project's image limits at run time (/artifacts/quotas),
python-glanceclient's ``info.get_usage()`` and the ``glance usage`` CLI
report them in Glance's shape, and over-limit creates and uploads are
Glance's 413 with nothing stored, through glanceclient and openstacksdk
(which has no usage call)."""

import io
import uuid

import glanceclient
import openstack.connection
import pytest
import requests
from glanceclient import exc as gc_exc
from openstack import exceptions as sdk_exc

from tests.conftest import database_url, glare_server
from tests.integration.helpers import data_files, glance_cli

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
ADMIN_TOKEN = {"X-Auth-Token": "x"}


@pytest.fixture(scope="module")
def srv(db_kind, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("usage-%s" % db_kind)
    # "x" (the glance CLI's token here) is an admin of glare-project.
    token_map = "usage-p=%s:u1:member,reader;sdk-p=%s:u2:member,reader;" \
        "x=glare-project:u0:admin,member,reader" % (PROJECT, SDK_PROJECT)
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_sections="\n[noauth]\n"
                          "token_map = %s\n" % token_map) as server:
            yield server


PROJECT = "up-" + uuid.uuid4().hex[:8]
SDK_PROJECT = "sp-" + uuid.uuid4().hex[:8]


def set_limits(srv, project, **values):
    resp = requests.put(srv.url + "/artifacts/quotas", headers=ADMIN_TOKEN,
                        json={"quotas": [
                            {"project_id": project, "type_name": "images",
                             "name": name, "value": value}
                            for name, value in values.items()]}, timeout=30)
    assert resp.status_code == 200, resp.text


def test_usage_through_glanceclient_and_refusals(srv):
    gc = glanceclient.Client("2", endpoint=srv.url, token="usage-p")
    assert gc.info.get_usage() == {}            # no limit: Glance's answer
    set_limits(srv, PROJECT, stored_bytes=MiB, artifact_count=2)
    assert gc.info.get_usage() == {
        "image_size_total": {"limit": 1, "usage": 0},
        "image_stage_total": {"limit": -1, "usage": 0},
        "image_count_total": {"limit": 2, "usage": 0},
        "image_count_uploading": {"limit": -1, "usage": 0}}
    first = gc.images.create(name="a", disk_format="raw",
                             container_format="bare")
    gc.images.upload(first.id, io.BytesIO(b"a" * MiB))
    second = gc.images.create(name="b", disk_format="raw",
                              container_format="bare")
    with pytest.raises(gc_exc.HTTPOverLimit) as caught:
        gc.images.upload(second.id, io.BytesIO(b"b" * MiB))
    assert "image_size_total is over limit of 1" in str(caught.value)
    assert gc.images.get(second.id).status == "queued"
    assert data_files(srv.datadir, second.id) == []
    with pytest.raises(gc_exc.HTTPOverLimit) as caught:
        gc.images.create(name="c", disk_format="raw",
                         container_format="bare")
    assert "image_count_total is over limit of 2 due to current usage 2 " \
        "and delta 1" in str(caught.value)
    assert gc.info.get_usage()["image_count_total"] == {"limit": 2,
                                                        "usage": 2}
    assert gc.info.get_usage()["image_size_total"] == {"limit": 1,
                                                       "usage": 1}


def test_glance_usage_cli(srv, tmp_path):
    set_limits(srv, "glare-project", artifact_count=7)
    run = glance_cli(srv, tmp_path)
    out = run("usage").stdout
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3:
            rows[cells[0]] = cells[1:]
    assert rows["image_count_total"] == ["7", "0"], out
    assert rows["image_size_total"] == ["-1", "0"], out
    assert set(rows) == {"Quota", "image_size_total", "image_stage_total",
                         "image_count_total", "image_count_uploading"}, out


def test_openstacksdk_sees_glances_413(srv):
    set_limits(srv, SDK_PROJECT, artifact_count=1, stored_bytes=MiB)
    conn = openstack.connection.Connection(
        auth_type="admin_token", auth={"token": "sdk-p",
                                       "endpoint": srv.url},
        image_endpoint_override=srv.url, image_api_version="2")
    try:
        image = conn.image.create_image(name="s", disk_format="raw",
                                        container_format="bare")
        with pytest.raises(sdk_exc.HttpException) as caught:
            conn.image.create_image(name="t", disk_format="raw",
                                    container_format="bare")
        assert caught.value.status_code == 413
        assert "image_count_total is over limit of 1" in str(caught.value)
        # Room for one more image, not for its data: the upload is
        # stopped (the sdk then deletes the image it made).
        set_limits(srv, SDK_PROJECT, artifact_count=2)
        with pytest.raises(sdk_exc.HttpException) as caught:
            conn.image.create_image(name="u", disk_format="raw",
                                    container_format="bare",
                                    data=io.BytesIO(b"u" * (MiB + 1)),
                                    validate_checksum=False)
        assert caught.value.status_code == 413
        assert "image_size_total is over limit of 1" in \
            caught.value.response.text
        assert [i.id for i in conn.image.images()] == [image.id]
        usage = requests.get(srv.url + "/v2/info/usage", timeout=30,
                             headers={"X-Auth-Token": "sdk-p"}).json()
        assert usage["usage"]["image_size_total"] == {"limit": 1,
                                                      "usage": 0}
    finally:
        conn.close()
