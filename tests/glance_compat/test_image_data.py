"""Range and legacy Content-Range of GET /v2/images/{id}/file, with
Glance's 416 wording (glance/common/wsgi.py get_range_from_request)."""

import pytest

from artifacts import errors
from glance_compat.image_data import _requested_range
from tests import wsgi_app

HUGE = "9" * 5000


def wanted(size=10, **headers):
    return _requested_range(headers, size)


def unsatisfiable(size=10, **headers):
    with pytest.raises(errors.RangeNotSatisfiable) as info:
        _requested_range(headers, size)
    assert info.value.detail_form      # after WebOb's generic sentence
    return info.value.message


@pytest.mark.parametrize("header,span", [
    ("bytes=2-5", (2, 5)), ("bytes=5-100", (5, 9)), ("bytes=-3", (7, 9)),
    ("bytes=-30", (0, 9)), ("bytes=4-", (4, 9)),
])
def test_ranges(header, span):
    assert wanted(Range=header) == span


@pytest.mark.parametrize("header", [
    "bytes=%s-" % HUGE, "bytes=0-%s" % HUGE, "bytes=-%s" % HUGE,
    "bytes=" + "0" * 5000 + "-", "bytes=\u0661-\u0662", "bytes=5-2",
    "bytes=-0", "foo", "bytes=0-" + "1" * 20,
])
def test_malformed_or_huge_range(header):
    assert unsatisfiable(Range=header) == "Invalid Range header."


def test_range_past_the_end():
    assert unsatisfiable(Range="bytes=10-") == (
        "Invalid start position in Range header. Start position MUST be in "
        "the inclusive range [0, 9].")


def test_multiple_ranges_are_400():
    with pytest.raises(errors.Invalid) as info:
        wanted(Range="bytes=0-1,3-4")
    assert info.value.status == 400


@pytest.mark.parametrize("header,span", [
    ("bytes 3-6/*", (3, 6)), ("bytes 3-6/10", (3, 6)),
    ("bytes 3-60/100", (3, 9)),
])
def test_legacy_content_range(header, span):
    assert wanted(**{"Content-Range": header}) == span


@pytest.mark.parametrize("header", [
    "bytes %s-%s/*" % (HUGE, HUGE), "bytes 0-%s/*" % HUGE,
    "bytes 0-5/%s" % HUGE, "bytes 6-3/*", "bytes 0-10/10", "bytes */10",
    "bytes 3-6", "garbage",
])
def test_malformed_or_huge_legacy_content_range(header):
    assert unsatisfiable(**{"Content-Range": header}) == \
        "Invalid Content-Range header."


def test_legacy_content_range_positions():
    assert unsatisfiable(**{"Content-Range": "bytes 3-10/*"}) == (
        "Invalid stop position in Content-Range header. The stop position "
        "MUST be in the inclusive range [0, 9].")
    assert unsatisfiable(**{"Content-Range": "bytes 10-12/20"}) == (
        "Invalid start position in Content-Range header. Start position "
        "MUST be in the inclusive range [0, 9].")


def test_range_wins_over_content_range():
    assert wanted(Range="bytes=1-2", **{"Content-Range": "bytes 3-6/*"}) \
        == (1, 2)


# ---------------------------------------------------------- ?prefer=

MEMBER = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p",
          "X-User-Id": "u", "X-Roles": "member,reader",
          "Accept": "application/json"}


def _app(tmp_path, policy_text):
    return wsgi_app.client(wsgi_app.sqlite_conf(tmp_path, {
        "oslo_policy.policy_file": wsgi_app.policy_file(tmp_path,
                                                        policy_text)}))


def _new_image(client):
    return client.post("/v2/images", headers=MEMBER, json={
        "name": "n", "disk_format": "raw", "container_format": "bare"}).json


def test_prefer_needs_its_rule_then_multi_store(tmp_path):
    """Glance's order: download_image, then download_from_store (403),
    then the stores (400: not multi-store here); without ``prefer`` the
    rule is not asked."""
    client = _app(tmp_path, '"download_from_store": "role:admin"\n')
    admin = dict(MEMBER, **{"X-Roles": "admin"})
    image = _new_image(client)
    url = "/v2/images/%s/file" % image["id"]
    assert client.put(url, data=b"abc", headers=dict(
        MEMBER, **{"Content-Type": "application/octet-stream"})
    ).status_code == 204
    assert client.get(url, headers=MEMBER).data == b"abc"
    assert client.get(url + "?prefer=", headers=MEMBER).data == b"abc"
    denied = client.get(url + "?prefer=file", headers=MEMBER)
    assert denied.status_code == 403
    assert "download_from_store" in denied.json["message"]
    single = client.get(url + "?prefer=file", headers=admin)
    assert single.status_code == 400
    assert single.json["message"].startswith(
        "Store selection for download is not available when multiple "
        "backends are not enabled.")


def test_staging_needs_modify_image_and_upload_upload_image(tmp_path):
    """Glance checks modify_image for PUT /stage (staged data is not yet
    the image's) and upload_image for PUT /file."""
    client = _app(tmp_path, '"upload_image": "role:admin"\n')
    octets = dict(MEMBER, **{"Content-Type": "application/octet-stream"})
    image = _new_image(client)
    base = "/v2/images/%s/" % image["id"]
    refused = client.put(base + "file", data=b"abc", headers=octets)
    assert refused.status_code == 403
    assert "upload_image" in refused.json["message"]
    staged = client.put(base + "stage", data=b"abc", headers=octets)
    assert staged.status_code == 204, staged.text

    client = _app(tmp_path / "other", '"modify_image": "role:admin"\n')
    image = _new_image(client)
    refused = client.put("/v2/images/%s/stage" % image["id"], data=b"abc",
                         headers=octets)
    assert refused.status_code == 403
    assert "modify_image" in refused.json["message"]
