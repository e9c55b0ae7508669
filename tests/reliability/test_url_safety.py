"""Every URL Glare accepts, attacked, against a real server with the
default configuration (Glance's ``[import_filtering_opts]`` defaults,
web-download offered as Glance offers it):

* web-download URIs and legacy import tasks' ``import_from`` naming
  loopback, the metadata service, private or multicast addresses -- in
  any spelling: decimal, octal, hex, full-width, circled letters, IPv4
  inside IPv6, a backslash -- are Glance's 400 and nothing is fetched;
* external blobs of the Artifact API: the same spellings are 400, and a
  download redirects to exactly the normalised URL that was checked.
"""

import json

import pytest
import requests

from tests.integration.helpers import ADMIN, create_image, unique
from tests.web_source import web_source

pytestmark = pytest.mark.integration

JSON = dict(ADMIN, Accept="application/json")
EXTERNAL = "application/vnd+openstack.glare-custom-location+json"

HOSTILE = [
    "http://127.0.0.1/x", "http://127.0.0.1:80/x", "http://169.254.169.254/",
    "http://169.254.169.254/latest/meta-data/iam", "http://10.0.0.1/x",
    "http://192.168.0.1/x", "http://100.64.0.1/x", "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x", "http://[::ffff:a9fe:a9fe]/x",
    "http://[64:ff9b::127.0.0.1]/x", "http://[2002:7f00:1::]/x",
    "http://[fe80::1]/x", "http://[fc00::1]/x", "http://224.0.0.1/x",
    "http://2130706433/x", "http://0177.0.0.1/x", "http://0x7f000001/x",
    "http://0x7f.1/x", "http://127.1/x", "http://017700000001/x",
    "http://１２７．０．０．１/x", "http://127。0。0。1/x",
    "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/x", "http://localhost/x", "http://LOCALHOST./x",
    "http://metadata.google.internal/x", "http://127.0.0.1\\.example.com/x",
    "http://example.com@127.0.0.1/x", "http://%31%32%37.0.0.1/x",
    "http://0.0.0.0/x", "http://does-not.exist/x", "ftp://example.com/x",
    "file:///etc/passwd", "http://example.com:8080/x", "gopher://x/",
]


@pytest.fixture(scope="module")
def source():
    """A real server on loopback: if any hostile URI were fetched, it
    would show up in ``requests`` (the ones naming 127.0.0.1:80 cannot
    reach it; the redirect cases can)."""
    with web_source() as src:
        src.files["small"] = b"small"
        yield src


def test_web_download_is_offered_by_default(server):
    info = requests.get(server.url + "/v2/info/import", headers=ADMIN,
                        timeout=30).json()
    assert info["import-methods"]["value"] == [
        "glance-direct", "web-download", "copy-image"]


@pytest.mark.parametrize("uri", HOSTILE)
def test_web_download_of_internal_addresses_is_400(server, source, uri):
    image = create_image(server.url, name=unique("evil"))
    resp = requests.post(
        server.url + "/v2/images/%s/import" % image["id"],
        json={"method": {"name": "web-download", "uri": uri}},
        headers=JSON, timeout=30)
    assert resp.status_code == 400, resp.text
    assert resp.json()["message"].startswith(
        "URI for web-download does not pass filtering: %s" % uri)
    shown = requests.get(server.url + "/v2/images/" + image["id"],
                         headers=ADMIN, timeout=30).json()
    assert shown["status"] == "queued"
    assert "os_glance_import_task" not in shown
    assert requests.get(server.url + "/v2/images/%s/tasks" % image["id"],
                        headers=ADMIN, timeout=30).json() == {"tasks": []}
    assert source.requests == []


@pytest.mark.parametrize("uri", HOSTILE)
def test_legacy_import_tasks_of_internal_addresses_are_400(server, uri):
    resp = requests.post(server.url + "/v2/tasks", headers=JSON, timeout=30,
                         json={"type": "import", "input": {
                             "import_from": uri, "import_from_format": "raw",
                             "image_properties": {"name": unique("evil")}}})
    assert resp.status_code == 400, resp.text
    assert resp.json()["message"].startswith((
        "URI for legacy import task does not pass filtering: %s" % uri,
        "The given uri is not valid", "File based imports are not "
        "allowed"))


def test_a_redirect_from_a_public_host_cannot_reach_loopback(server, source):
    """The first hop is refused already (it is loopback); the rule for
    later hops is tested with a fake resolver in
    tests/artifacts/net/test_fetch.py and through a server in
    tests/integration/test_web_download.py."""
    image = create_image(server.url, name=unique("evil"))
    resp = requests.post(
        server.url + "/v2/images/%s/import" % image["id"],
        json={"method": {"name": "web-download", "uri": source.url(
            "/redirect?to=http://169.254.169.254/")}},
        headers=JSON, timeout=30)
    assert resp.status_code == 400 and source.requests == []


def _external(server, url):
    art = requests.post(server.url + "/artifacts/files", headers=JSON,
                        json={"name": unique("ext"), "version": "1.0.0"},
                        timeout=30).json()
    path = "%s/artifacts/files/%s/file" % (server.url, art["id"])
    resp = requests.put(path, data=json.dumps({"url": url}), timeout=30,
                        headers=dict(JSON, **{"Content-Type": EXTERNAL}))
    return path, resp


@pytest.mark.parametrize("url", HOSTILE)
def test_external_blobs_of_internal_addresses_are_400(server, url):
    path, resp = _external(server, url)
    if url in ("http://does-not.exist/x", "http://example.com:8080/x"):
        # Never fetched by Glare, so not resolved, and any port will do.
        assert resp.status_code == 200, resp.text
        return
    assert resp.status_code == 400, (url, resp.text)
    assert requests.get(path, headers=ADMIN, allow_redirects=False,
                        timeout=30).status_code == 404


@pytest.mark.parametrize("url,location", [
    ("HTTPS://Downloads.EXAMPLE.com/a.bin",
     "https://downloads.example.com/a.bin"),
    ("https://ｄｏｗｎｌｏａｄｓ．example．com/ä.bin",
     "https://downloads.example.com/%C3%A4.bin"),
    ("https://downloads.example.com.:0443/a", "https://downloads.example.com"
     ":443/a"),
])
def test_external_downloads_redirect_to_the_checked_url(server, url,
                                                        location):
    path, resp = _external(server, url)
    assert resp.status_code == 200, resp.text
    got = requests.get(path, headers=ADMIN, allow_redirects=False,
                       timeout=30)
    assert got.status_code == 302 and got.headers["Location"] == location
