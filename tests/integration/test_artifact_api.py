"""The Artifact API on a real server (gunicorn, 2 workers), on SQLite,
PostgreSQL and MariaDB: a whole flow with ``requests``, races between
workers, and a small schemathesis run that must find no 5xx."""

import hashlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.integration import artifact_fuzz
from tests.integration.helpers import data_files, project_headers

pytestmark = pytest.mark.integration

OCTETS = {"Content-Type": "application/octet-stream"}


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def test_create_upload_activate_download_list_delete(server):
    api = server.url + "/artifacts"
    s = requests.Session()
    s.headers.update(project_headers("flow-project"))
    name = unique("flow")
    made = []
    for version in ("1.0.0", "1.10.0", "1.9.0"):
        resp = s.post(api + "/heat_templates", timeout=30, json={
            "name": name, "version": version, "tags": ["flow"],
            "description": "v" + version})
        assert resp.status_code == 201, resp.text
        made.append(resp.json())
    latest = made[1]
    base = "%s/heat_templates/%s" % (api, latest["id"])

    template = b"heat_template_version: 2018-08-31\n" * 1000
    resp = s.put(base + "/template", data=template, headers=OCTETS,
                 timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["template"]["sha256"] == \
        hashlib.sha256(template).hexdigest()
    # A nested folder file, sent chunked.
    resp = s.put(base + "/nested_templates/lib/net.yaml", timeout=30,
                 data=iter([b"net: ", b"1\n"]), headers=OCTETS)
    assert resp.status_code == 200, resp.text
    assert resp.json()["nested_templates"]["lib/net.yaml"]["size"] == 7

    resp = s.post(base + "/actions/activate", timeout=30)
    assert resp.status_code == 200 and resp.json()["status"] == "active"

    got = s.get(base + "/template", timeout=30)
    assert got.status_code == 200 and got.content == template
    assert got.headers["Content-Length"] == str(len(template))
    part = s.get(base + "/template", headers={"Range": "bytes=5-9"},
                 timeout=30)
    assert part.status_code == 206 and part.content == template[5:10]
    nested = s.get(base + "/nested_templates/lib/net.yaml", timeout=30)
    assert nested.content == b"net: 1\n"

    listed = s.get(api + "/heat_templates", timeout=30, params={
        "name": name, "version": "latest"})
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["heat_templates"]] == [
        latest["id"]]
    ranged = s.get(api + "/heat_templates", timeout=30, params=[
        ("name", name), ("version", "gte:1.9"), ("sort", "version:asc")])
    assert [a["version"] for a in ranged.json()["heat_templates"]] == [
        "1.9.0", "1.10.0"]
    # Another project sees none of it.
    other = requests.get(api + "/heat_templates", params={"name": name},
                         headers=project_headers("flow-other"), timeout=30)
    assert other.json()["heat_templates"] == []

    for art in made:
        resp = s.delete("%s/heat_templates/%s" % (api, art["id"]),
                        timeout=30)
        assert resp.status_code == 204, resp.text
    assert s.get(base, timeout=30).status_code == 404
    deadline = time.time() + 5
    while data_files(server.datadir, latest["id"]) and \
            time.time() < deadline:
        time.sleep(0.1)
    assert data_files(server.datadir, latest["id"]) == []


def test_concurrent_creates_of_one_version_one_wins(server):
    url = server.url + "/artifacts/files"
    name = unique("race")
    barrier = threading.Barrier(8)

    def create(_):
        barrier.wait()
        resp = requests.post(url, json={"name": name, "version": "2.0.0"},
                             headers=project_headers("race-project"),
                             timeout=60)
        return resp.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(create, range(8)))
    assert codes == [201] + [409] * 7, codes
    listed = requests.get(url, params={"name": name},
                          headers=project_headers("race-project"),
                          timeout=30).json()["files"]
    assert len(listed) == 1


def test_concurrent_uploads_into_one_blob_one_wins(server):
    """Eight uploads that overlap for sure: each sends a first chunk, then
    waits until all eight have, plus time for the server to claim the
    blob; only then do they finish.  Exactly one may hold the claim.  The
    first chunk is larger than the 64 KiB a worker reads before it hands
    an upload to a thread (glare/worker.py), so the claims are made while
    the bodies are held back."""
    headers = project_headers("upload-race")
    art = requests.post(server.url + "/artifacts/files", headers=headers,
                        json={"name": unique("blob-race")},
                        timeout=30).json()
    url = "%s/artifacts/files/%s/file" % (server.url, art["id"])
    started = threading.Semaphore(0)
    go = threading.Event()
    first = 128 * 1024
    payloads = [bytes([65 + i]) * (2 * first + i) for i in range(8)]

    def body(i):
        yield payloads[i][:first]
        started.release()
        go.wait(30)
        yield payloads[i][first:]

    def upload(i):
        with requests.Session() as s:
            resp = s.put(url, data=body(i), timeout=60,
                         headers=dict(headers, **OCTETS))
            return resp.status_code, resp.text

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(upload, i) for i in range(8)]
        for _ in range(8):
            assert started.acquire(timeout=30)
        time.sleep(1.0)
        go.set()
        results = [f.result() for f in futures]
    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * 7, results
    winner = [payloads[i] for i, (code, _) in enumerate(results)
              if code == 200][0]
    got = requests.get(url, headers=headers, timeout=30)
    assert got.content == winner
    shown = requests.get(url.rsplit("/", 1)[0], headers=headers,
                         timeout=30).json()
    assert shown["file"]["size"] == len(winner)
    assert shown["file"]["status"] == "active"
    # Only the winner's data is stored.
    assert len(data_files(server.datadir, art["id"])) == 1


def test_openapi_and_errors_on_a_real_server(server):
    doc = requests.get(server.url + "/artifacts/openapi.json", timeout=30)
    assert doc.status_code == 200 and doc.json()["paths"]
    page = requests.get(server.url + "/artifacts/docs", timeout=30)
    assert page.status_code == 200 and "text/html" in \
        page.headers["Content-Type"]
    resp = requests.get(server.url + "/artifacts/nope", timeout=30)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json()["error"]["code"] == 404
    assert resp.headers.get("x-openstack-request-id")


def test_fuzz_finds_no_server_errors(server, tmp_path):
    """CI-sized schemathesis run (``make fuzz`` runs a bigger one)."""
    code, output = artifact_fuzz.run(
        server.url, max_examples=3, workdir=tmp_path,
        extra=["--phases", "coverage,fuzzing", "--seed", "7"],
        timeout=120)
    assert code == 0, output[-4000:]
    assert "Traceback" not in server.log_text()
