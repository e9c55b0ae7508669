"""Semantic versions (semver 2.0) in a form SQL can sort and range-filter.

An artifact's version is stored in parts (major, minor, patch, pre-release,
build) and once more as ``sort_key``: a string whose plain byte order is
semver precedence, so ``version=latest``, ``sort=version`` and the range
filters (``gt:1.2``, ``lte:2.0.0-rc.1``) are ordinary indexed SQL.

Precedence rules encoded in the key: numbers compare numerically (padded to
ten digits), a pre-release sorts before its release, numeric pre-release
identifiers before alphanumeric ones, and a shorter identifier list before a
longer one with the same prefix.  Build metadata never affects precedence.
"""

import re

from artifacts import errors

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")
# The version columns are 32-bit integers on every database.
MAX_PART = 2 ** 31 - 1
MAX_SORT_KEY = 300
DEFAULT = (0, 0, 0, "", "")


def parse(text):
    """'1.2.3-rc.1+b5' → (1, 2, 3, 'rc.1', 'b5').  Minor and patch may be
    left out ('1.2' is 1.2.0).  Raises Invalid with the rule broken."""
    if isinstance(text, (list, tuple)):
        return tuple(text)
    if not isinstance(text, str) or len(text) > 255:
        raise errors.Invalid("Version must be a string of at most 255 "
                             "characters, e.g. '1.2.3' or '2.0.0-rc.1'.")
    match = _SEMVER.match(text.strip())
    if not match:
        raise errors.Invalid("Version %r is not a semantic version "
                             "(MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD])."
                             % text)
    major, minor, patch, pre, build = match.groups()
    parts = (int(major), int(minor or 0), int(patch or 0))
    if any(p > MAX_PART for p in parts):
        raise errors.Invalid("Version %r has a number larger than %d."
                             % (text, MAX_PART))
    version = parts + (pre or "", build or "")
    if len(sort_key(version)) > MAX_SORT_KEY:
        raise errors.Invalid("Version %r has too many or too long "
                             "pre-release identifiers." % text)
    return version


def render(version):
    major, minor, patch, pre, build = version
    text = "%d.%d.%d" % (major, minor, patch)
    if pre:
        text += "-" + pre
    if build:
        text += "+" + build
    return text


def _identifier_key(ident):
    if ident.isdigit():
        return "0" + "%010d" % int(ident)
    return "1" + ident


def sort_key(version):
    """The byte-orderable key of a parsed version (build ignored)."""
    major, minor, patch, pre, _build = version
    key = "%010d.%010d.%010d." % (major, minor, patch)
    if not pre:
        return key + "~"                      # a release: after any pre
    # '!' sorts before every identifier character, so 'rc' < 'rc.1'.
    return key + "!".join(_identifier_key(i) for i in pre.split(".")) + "!"
