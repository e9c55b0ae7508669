"""Range and legacy Content-Range of GET /v2/images/{id}/file, with
Glance's 416 wording (glance/common/wsgi.py get_range_from_request)."""

import pytest

from artifacts import errors
from glance_compat.image_data import _requested_range

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
