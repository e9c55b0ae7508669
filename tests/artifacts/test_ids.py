"""Artifact ids: one rule (artifacts.ids) for the engine and both faces."""

import uuid

import pytest

from artifacts.ids import is_canonical_uuid

CANONICAL = "5a0b7c1e-3f2d-4c6b-9a8e-1d2c3b4a5f60"


def test_canonical_uuids_are_accepted():
    assert is_canonical_uuid(CANONICAL)
    assert is_canonical_uuid(str(uuid.uuid4()))
    assert is_canonical_uuid("00000000-0000-0000-0000-000000000000")


# The rule pinned: only str(uuid.UUID(x)) == x.  Glance's schema pattern
# (^...$) takes a trailing newline and uppercase; oslo's is_uuid_like also
# takes braces, urn:uuid: and no dashes.  All of these are refused here.
@pytest.mark.parametrize("value", [
    CANONICAL + "\n", CANONICAL + "\r\n", "\n" + CANONICAL, CANONICAL + " ",
    " " + CANONICAL, CANONICAL + "\t", CANONICAL.upper(),
    CANONICAL[:8].upper() + CANONICAL[8:], CANONICAL.replace("-", ""),
    "{%s}" % CANONICAL, "urn:uuid:" + CANONICAL, CANONICAL[:-1] + "\u0660",
    CANONICAL + "\x00", CANONICAL[:-1], "", "not-a-uuid", None, 5,
    ["x"], CANONICAL.replace("-", "_"),
])
def test_everything_else_is_refused(value):
    assert not is_canonical_uuid(value)
