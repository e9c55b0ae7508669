"""Quotas through a real server: ``[quotas]`` defaults for images enforced
on Glance uploads (413, image back to queued, no data left), and an admin
changing a project's quotas at run time through ``/artifacts/quotas``."""

import time
import uuid

import pytest
import requests

from tests.conftest import database_url, glare_server
from tests.integration.helpers import (ADMIN, create_image, data_files,
                                       get_image, project_headers,
                                       temp_files, upload)

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
QUOTAS = "[quotas]\ntype_stored_bytes = images:%d\n" % (2 * MiB)


@pytest.fixture(scope="module")
def srv(db_kind, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quotas-%s" % db_kind)
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_sections=QUOTAS) as server:
            yield server


def project():
    return "qp-" + uuid.uuid4().hex[:10]


def wait_for(check, timeout=5):
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def chunks(count, byte=b"q"):
    for _ in range(count):
        yield byte * MiB


def test_glance_upload_over_quota(srv):
    headers = project_headers(project())
    image = create_image(srv.url, headers)
    resp = upload(srv.url, image["id"], chunks(3), headers)
    assert resp.status_code == 413, resp.text
    # Glance's words for its image_size_total (whole MiB).
    assert "Project qp-" in resp.text
    assert "Resource image_size_total is over limit of 2 due to current " \
        "usage 0" in resp.text
    record = get_image(srv.url, image["id"], headers).json()
    assert (record["status"], record["size"]) == ("queued", None)
    assert data_files(srv.datadir, image["id"]) == []
    assert wait_for(lambda: temp_files(srv.datadir) == [])
    # Within the quota the same image takes its data; a second image of
    # the project no longer fits until the first is deleted.
    assert upload(srv.url, image["id"], chunks(2), headers).status_code \
        == 204
    assert get_image(srv.url, image["id"], headers).json()["status"] == \
        "active"
    second = create_image(srv.url, headers)
    assert upload(srv.url, second["id"], chunks(1), headers).status_code \
        == 413
    requests.delete(srv.url + "/v2/images/" + image["id"], headers=headers,
                    timeout=30)
    assert upload(srv.url, second["id"], chunks(1), headers).status_code \
        == 204


def test_admin_changes_quotas_at_run_time(srv):
    p = project()
    headers = project_headers(p)
    url = srv.url + "/artifacts/quotas"
    mine = requests.get(url, headers=headers, timeout=30)
    assert mine.status_code == 200, mine.text
    limits = {(q["type_name"], q["name"]): (q["value"], q["source"])
              for q in mine.json()["quotas"]}
    assert limits[("images", "stored_bytes")] == (2 * MiB, "type_default")
    assert requests.get(url, params={"project_id": "someone-else"},
                        headers=headers, timeout=30).status_code == 403
    change = {"quotas": [
        {"project_id": p, "type_name": "images", "name": "stored_bytes",
         "value": 4 * MiB},
        {"project_id": p, "type_name": "", "name": "artifact_count",
         "value": 1}]}
    assert requests.put(url, json=change, headers=headers,
                        timeout=30).status_code == 403
    resp = requests.put(url, json=change, headers=ADMIN, timeout=30)
    assert resp.status_code == 200, resp.text
    result = {(q["type_name"], q["name"]): q["value"]
              for q in resp.json()["quotas"] if q["project_id"] == p}
    assert result[("images", "stored_bytes")] == 4 * MiB
    # Both workers see the change at once: it is in the database.
    image = create_image(srv.url, headers)
    for _ in range(2):
        resp = requests.post(srv.url + "/v2/images", json={"name": "more"},
                             headers=headers, timeout=30)
        assert resp.status_code == 413, resp.text
        assert "artifact_count" in resp.text
    assert upload(srv.url, image["id"], chunks(3), headers).status_code \
        == 204
    usage = requests.get(url + "/usage", headers=headers, timeout=30)
    assert usage.status_code == 200, usage.text
    used = {(u["type_name"], u["name"]): (u["used"], u["limit"])
            for u in usage.json()["usage"]}
    assert used[("images", "stored_bytes")] == (3 * MiB, 4 * MiB)
    assert used[("", "artifact_count")] == (1, 1)
    assert used[("", "uploading_bytes")] == (0, -1)
    bad = {"quotas": [dict(change["quotas"][0], value=-7)]}
    assert requests.put(url, json=bad, headers=ADMIN,
                        timeout=30).status_code == 400
