"""Hostile input against a real server, on both faces (the Image API under
/v2 and the Artifact API under /artifacts): each answered a 500 once and
must now be a clear 4xx that leaves nothing behind.

* JSON nested far deeper than any real document, in every JSON body;
* Range / legacy Content-Range headers with numbers thousands of digits
  long (Python refuses ``int()`` of more than 4300 digits);
* ``created_at``/``updated_at`` filters at the edges of the calendar;
* image ids at create that are not a canonical UUID (a trailing newline
  made a row no one could delete).
"""

import uuid

import pytest
import requests

from tests.integration.helpers import (ADMIN, IMAGE_PATCH, create_image,
                                       unique, upload)

pytestmark = pytest.mark.integration

OCTETS = {"Content-Type": "application/octet-stream"}
# Plain-text errors (WebOb's format for text/plain) keep Glance's quotes
# unescaped, so the messages can be compared as they are written.
ADMIN = dict(ADMIN, Accept="text/plain")
DEPTH_MESSAGE = "nested too deeply"


def check_4xx(resp, status, *words):
    """``resp`` is ``status`` (never a 5xx) and its body says ``words``."""
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    for word in words:
        assert word in resp.text, resp.text[:500]
    return resp


def nested(depth, open_="[", close="]", inner="1"):
    return (open_ * depth + inner + close * depth).encode()


def nested_object(depth):
    return ('{"a":' * depth + "1" + "}" * depth).encode()


# Deep enough to blow Python's json recursion (~1000) and far past the cap.
HOSTILE_DOCS = {
    "lists": nested(5000),
    "objects": nested_object(5000),
    "mixed": ('[{"a":' * 2500 + "1" + "}]" * 2500).encode(),
    # Brackets inside strings do not count; the real nesting still does.
    "strings-then-deep": b'["[[[[{{{{\\"]]]", ' + nested(3000) + b"]",
}


@pytest.fixture(scope="module")
def image(server):
    return create_image(server.url, name=unique("hostile"))


@pytest.fixture(scope="module")
def active_image(server):
    img = create_image(server.url, name=unique("hostile-data"))
    assert upload(server.url, img["id"], b"0123456789").status_code == 204
    return img


@pytest.fixture(scope="module")
def artifact(server):
    api = server.url + "/artifacts/files"
    resp = requests.post(api, json={"name": unique("hostile")},
                         headers=ADMIN, timeout=30)
    assert resp.status_code == 201, resp.text
    art = resp.json()
    resp = requests.put("%s/%s/file" % (api, art["id"]), data=b"0123456789",
                        headers=dict(ADMIN, **OCTETS), timeout=30)
    assert resp.status_code == 200, resp.text
    return art


# ------------------------------------------------------------ deep JSON

def _glance_json_requests(server, image_id):
    """(method, url, content type) of every JSON body of the Image API."""
    base = server.url + "/v2/images"
    return [
        ("POST", base, "application/json"),
        ("PATCH", base + "/" + image_id, IMAGE_PATCH),
        ("PATCH", base + "/" + image_id,
         "application/openstack-images-v2.0-json-patch"),
        ("POST", base + "/" + image_id + "/members", "application/json"),
        ("PUT", base + "/" + image_id + "/members/someone",
         "application/json"),
        ("POST", base + "/" + image_id + "/import", "application/json"),
    ]


@pytest.mark.parametrize("doc", sorted(HOSTILE_DOCS))
def test_deep_json_is_400_on_the_image_api(server, image, doc):
    for method, url, ctype in _glance_json_requests(server, image["id"]):
        resp = requests.request(method, url, data=HOSTILE_DOCS[doc],
                                headers=dict(ADMIN, **{"Content-Type":
                                                       ctype}), timeout=30)
        check_4xx(resp, 400, DEPTH_MESSAGE)


def _artifact_json_requests(server, art_id):
    api = server.url + "/artifacts"
    return [
        ("POST", api + "/files", "application/json"),
        ("PATCH", api + "/files/" + art_id, "application/json-patch+json"),
        ("POST", api + "/files/" + art_id + "/members", "application/json"),
        ("PUT", api + "/files/" + art_id + "/members/someone",
         "application/json"),
        ("PUT", api + "/quotas", "application/json"),
        ("PUT", api + "/files/" + art_id + "/file",
         "application/vnd+openstack.glare-custom-location+json"),
    ]


@pytest.mark.parametrize("doc", sorted(HOSTILE_DOCS))
def test_deep_json_is_400_on_the_artifact_api(server, artifact, doc):
    for method, url, ctype in _artifact_json_requests(server,
                                                      artifact["id"]):
        resp = requests.request(method, url, data=HOSTILE_DOCS[doc],
                                headers=dict(ADMIN, **{"Content-Type":
                                                       ctype}), timeout=30)
        check_4xx(resp, 400, DEPTH_MESSAGE)


def test_reasonable_nesting_still_works(server):
    """A property value nested a few levels is not refused by the cap
    (it is refused by the image schema, as in Glance, not for depth)."""
    resp = requests.post(server.url + "/artifacts/files",
                         data=b'{"name": "ok", "tags": ["a"]}',
                         headers=dict(ADMIN, **{"Content-Type":
                                                "application/json"}),
                         timeout=30)
    check_4xx(resp, 201)
    resp = requests.post(server.url + "/v2/images", data=nested(40),
                         headers=dict(ADMIN, **{"Content-Type":
                                                "application/json"}),
                         timeout=30)
    assert resp.status_code == 400 and DEPTH_MESSAGE not in resp.text


# --------------------------------------------------------------- ranges

# Past Python's 4300-digit int() limit, within gunicorn's 8190-byte header
# field limit (beyond it gunicorn itself answers 431).
HUGE = "9" * 4400
TWO_HUGE = "9" * 3500
HUGE_RANGES = ["bytes=%s-" % HUGE, "bytes=0-%s" % HUGE, "bytes=-%s" % HUGE,
               "bytes=%s-%s" % (TWO_HUGE, TWO_HUGE),
               "bytes=%s-" % ("0" * 4400),
               "bytes=0-" + "1" * 20]


@pytest.mark.parametrize("header", HUGE_RANGES)
def test_huge_range_numbers_are_416_on_the_image_api(server, active_image,
                                                     header):
    resp = requests.get(server.url + "/v2/images/%s/file"
                        % active_image["id"], headers=dict(ADMIN,
                                                           Range=header),
                        timeout=30)
    check_4xx(resp, 416, "Invalid Range header.")


@pytest.mark.parametrize("header", [
    "bytes %s-%s/*" % (TWO_HUGE, TWO_HUGE), "bytes 0-%s/*" % HUGE,
    "bytes 0-5/%s" % HUGE, "bytes 0-" + "1" * 20 + "/*"])
def test_huge_legacy_content_range_is_416_on_the_image_api(
        server, active_image, header):
    resp = requests.get(server.url + "/v2/images/%s/file"
                        % active_image["id"],
                        headers=dict(ADMIN, **{"Content-Range": header}),
                        timeout=30)
    check_4xx(resp, 416, "Invalid Content-Range header.")


@pytest.mark.parametrize("header", HUGE_RANGES)
def test_huge_range_numbers_are_416_on_the_artifact_api(server, artifact,
                                                        header):
    resp = requests.get(server.url + "/artifacts/files/%s/file"
                        % artifact["id"], headers=dict(ADMIN, Range=header),
                        timeout=30)
    check_4xx(resp, 416, "not a single byte range")
    assert resp.headers["Content-Range"] == "bytes */10"


def test_non_ascii_digits_are_not_a_range(server, active_image, artifact):
    """``\\d`` would take Arabic-Indic digits; a Range is ASCII."""
    header = "bytes=\u0661-\u0662".encode().decode("latin-1")
    for url, status in [
            ("/v2/images/%s/file" % active_image["id"], 416),
            ("/artifacts/files/%s/file" % artifact["id"], 416)]:
        resp = requests.get(server.url + url,
                            headers=dict(ADMIN, Range=header), timeout=30)
        check_4xx(resp, status)


# ------------------------------------------------------------ time filters

EDGE_TIMES = [
    "lt:0001-01-01T00:00:00+14:00", "gt:9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
    "lt:0000-01-01T00:00:00", "gt:2020-13-01T00:00:00",
    "gt:99999-01-01T00:00:00", "gt:" + "9" * 3000 + "-01-01T00:00:00",
    "gt:2020-01-01T00:00:00+99:99", "gt:2020-01-01T00:00:00+24:00",
    "gt:2020-01-01T00:00:00." + "1" * 50,
    "gt:2020-01-01T00:00:00." + "1" * 50 + "+01:00",
    "gt:2020-01-01T00:00:00+23:59:59.999999x",
]


@pytest.mark.parametrize("key", ["created_at", "updated_at"])
@pytest.mark.parametrize("value", EDGE_TIMES)
def test_time_filters_at_the_calendar_edges(server, key, value):
    resp = requests.get(server.url + "/v2/images", params={key: value},
                        headers=ADMIN, timeout=30)
    assert resp.status_code in (200, 400), (resp.status_code, resp.text)
    if resp.status_code == 400:
        assert ('Bad "%s" query filter format. Use ISO 8601 DateTime '
                'notation.' % key) in resp.text


@pytest.mark.parametrize("value,expect_all", [
    ("lt:0001-01-01T00:00:00+00:00", False),
    ("gt:0001-01-01T00:00:01+00:00", True),
    ("gt:9999-12-31T23:59:59+00:00", False),
    ("lt:9999-12-31T23:59:59.999999", True),
    ("gt:0001-01-01T00:00:00.000000000000000000001", True),
])
def test_extreme_but_valid_times_filter_correctly(server, image, value,
                                                  expect_all):
    """Years 1 and 9999 are real ISO 8601 times: they filter (every image
    is after year 1 and before year 9999) on every database."""
    resp = requests.get(server.url + "/v2/images",
                        params={"created_at": value, "limit": 1000},
                        headers=ADMIN, timeout=30)
    check_4xx(resp, 200)
    ids = {i["id"] for i in resp.json()["images"]}
    assert (image["id"] in ids) is expect_all


# -------------------------------------------------------- ids at create

CANONICAL = "5a0b7c1e-3f2d-4c6b-9a8e-1d2c3b4a5f60"
BAD_IDS = [
    CANONICAL + "\n", CANONICAL + " ", " " + CANONICAL, CANONICAL + "\t",
    "\n" + CANONICAL, CANONICAL + "\r\n", CANONICAL.upper(),
    CANONICAL.replace("-", ""), "{%s}" % CANONICAL, "urn:uuid:" + CANONICAL,
    CANONICAL[:-1] + "\u0660", CANONICAL + "\x00", "", "not-a-uuid",
]


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_non_canonical_image_id_at_create_is_400(server, bad):
    # Use a fresh id per case so a wrongly stored row cannot hide another.
    fresh = str(uuid.uuid4())
    bad = bad.replace(CANONICAL, fresh).replace(CANONICAL.upper(),
                                                fresh.upper()).replace(
        CANONICAL.replace("-", ""), fresh.replace("-", ""))
    bad = bad.replace(CANONICAL[:-1], fresh[:-1])
    name = unique("badid")
    resp = requests.post(server.url + "/v2/images",
                         json={"id": bad, "name": name,
                               "disk_format": "raw",
                               "container_format": "bare"},
                         headers=ADMIN, timeout=30)
    check_4xx(resp, 400)
    # The schema's words where its pattern refuses the id, ours where the
    # pattern lets it through (trailing newline, uppercase), the body
    # reader's for a NUL.
    assert any(words in resp.text for words in (
        "does not match", "canonical", "Null characters")), resp.text
    listed = requests.get(server.url + "/v2/images", params={"name": name},
                          headers=ADMIN, timeout=30)
    assert listed.status_code == 200 and listed.json()["images"] == []


def test_canonical_image_id_at_create_is_kept(server):
    fresh = str(uuid.uuid4())
    img = create_image(server.url, id=fresh, name=unique("goodid"))
    assert img["id"] == fresh
    resp = requests.delete(server.url + "/v2/images/" + fresh,
                           headers=ADMIN, timeout=30)
    assert resp.status_code == 204


# -------------------------------------------------- property value sizes

def test_megabyte_property_value_is_400_at_create_and_patch(server, image):
    name = unique("bigprop")
    resp = requests.post(server.url + "/v2/images", json={
        "name": name, "big": "x" * 1000000}, headers=ADMIN, timeout=30)
    check_4xx(resp, 400, "property 'big'", "at most 65535 bytes")
    listed = requests.get(server.url + "/v2/images", params={"name": name},
                          headers=ADMIN, timeout=30)
    assert listed.json()["images"] == []
    resp = requests.patch(
        server.url + "/v2/images/" + image["id"],
        json=[{"op": "add", "path": "/big", "value": "x" * 65536}],
        headers=dict(ADMIN, **{"Content-Type": IMAGE_PATCH}), timeout=30)
    check_4xx(resp, 400, "property 'big'")


def test_properties_of_one_image_have_a_total_budget(server):
    img = create_image(server.url, name=unique("budget"))
    url = server.url + "/v2/images/" + img["id"]
    headers = dict(ADMIN, **{"Content-Type": IMAGE_PATCH})
    ops = [{"op": "add", "path": "/p%d" % i, "value": "x" * 60000}
           for i in range(17)]
    resp = requests.patch(url, json=ops, headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    resp = requests.patch(url, json=[{"op": "add", "path": "/one_more",
                                      "value": "y" * 60000}],
                          headers=headers, timeout=30)
    check_4xx(resp, 413, "at most 1048576 bytes in all")
    shown = requests.get(url, headers=ADMIN, timeout=30).json()
    assert "one_more" not in shown and len(shown["p16"]) == 60000
    # Smaller is always allowed.
    resp = requests.patch(url, json=[{"op": "remove", "path": "/p0"}],
                          headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text


def test_megabyte_field_value_is_400_on_the_artifact_api(server):
    """The same metadata limits hold on the Artifact API (the engine
    checks them for every face)."""
    api = server.url + "/artifacts/heat_templates"
    resp = requests.post(api, json={
        "name": unique("bigenv"), "default_envs": {"a": "x" * 1000000}},
        headers=ADMIN, timeout=30)
    assert resp.status_code == 400, resp.text
    assert "property 'default_envs'" in resp.json()["error"]["message"]
