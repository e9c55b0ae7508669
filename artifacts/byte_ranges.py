"""Syntax of the byte-range request headers, shared by both HTTP faces.

``parse_range('bytes=2-5')`` and the legacy request header
``parse_content_range('bytes 2-5/*')`` only split a header into numbers;
each face decides what a range means for its data and words its own 4xx
(Glance's for the Image API).  Both raise ``Malformed`` for anything that
is not the header's syntax, including numbers no store could ever hold:
more than ``MAX_DIGITS`` digits (Python refuses ``int()`` of more than
4300 digits, and a position beyond 2**63 is not a byte of any data) and
non-ASCII digits (``\\d`` and ``int()`` both take Arabic-Indic ones).
"""

import re

# 2**63 - 1, the largest size any database column holds, has 19 digits.
MAX_DIGITS = 19

_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)\Z")
_CONTENT_RANGE = re.compile(r"bytes (?:([0-9]+)-([0-9]+)|\*)/(?:([0-9]+)|\*)\Z")


class Malformed(ValueError):
    """The header is not a range this server can read."""


def _number(digits):
    """int of an ASCII digit string, None for ''; refuses huge ones."""
    if digits == "":
        return None
    if len(digits) > MAX_DIGITS:
        raise Malformed("a number in the range has more than %d digits"
                        % MAX_DIGITS)
    return int(digits)


def parse_range(header):
    """``Range: bytes=FIRST-[LAST]`` or ``bytes=-SUFFIX`` →
    ``(first, last)``, either None when absent (both never are)."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        raise Malformed("not a single byte range")
    return _number(match.group(1)), _number(match.group(2))


def parse_content_range(header):
    """Legacy request ``Content-Range: bytes START-END/(LENGTH|*)`` or
    ``bytes */LENGTH`` → ``(start, end, length)``; start and end are None
    for ``*``, length is None for ``*``."""
    match = _CONTENT_RANGE.match(header.strip())
    if not match:
        raise Malformed("not a byte content range")
    return tuple(_number(g or "") for g in match.groups())
