"""Range and legacy Content-Range header syntax (both faces)."""

import pytest

from artifacts.byte_ranges import (MAX_DIGITS, Malformed, parse_content_range,
                                   parse_range)


@pytest.mark.parametrize("header,parsed", [
    ("bytes=0-0", (0, 0)), ("bytes=2-", (2, None)), ("bytes=-3", (None, 3)),
    (" bytes=2-5 ", (2, 5)), ("bytes=2-5\n", (2, 5)),
    ("bytes=0-" + "9" * MAX_DIGITS, (0, int("9" * MAX_DIGITS))),
])
def test_ranges(header, parsed):
    assert parse_range(header) == parsed


@pytest.mark.parametrize("header", [
    "bytes=-", "bytes=1-2,3-4", "bytes=a-", "items=0-1", "bytes = 0-1",
    "bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000,
    "bytes=-" + "9" * 5000, "bytes=" + "0" * (MAX_DIGITS + 1) + "-",
    "bytes=\u0661-\u0662", "bytes=1-2\nbytes=3-4", "bytes=1-2x",
])
def test_malformed_ranges(header):
    with pytest.raises(Malformed):
        parse_range(header)


@pytest.mark.parametrize("header,parsed", [
    ("bytes 3-6/*", (3, 6, None)), ("bytes 3-6/10", (3, 6, 10)),
    ("bytes */10", (None, None, 10)), ("bytes */*", (None, None, None)),
])
def test_content_ranges(header, parsed):
    assert parse_content_range(header) == parsed


@pytest.mark.parametrize("header", [
    "bytes 3-6", "bytes=3-6/*", "bytes 3-/*",
    "bytes %s-%s/*" % ("9" * 5000, "9" * 5000), "bytes 0-5/" + "9" * 5000,
    "bytes 0-" + "1" * (MAX_DIGITS + 1) + "/*", "bytes \u0663-6/*",
])
def test_malformed_content_ranges(header):
    with pytest.raises(Malformed):
        parse_content_range(header)
