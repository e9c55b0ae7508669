"""Semantic version parsing and the SQL sort key's precedence."""

import pytest

from artifacts import errors, versions


@pytest.mark.parametrize("text,parsed", [
    ("1", (1, 0, 0, "", "")),
    ("1.2", (1, 2, 0, "", "")),
    ("1.2.3", (1, 2, 3, "", "")),
    ("1.2.3-rc.1", (1, 2, 3, "rc.1", "")),
    ("1.2.3-rc.1+build.5", (1, 2, 3, "rc.1", "build.5")),
    ("0.0.1+x-y", (0, 0, 1, "", "x-y")),
])
def test_parse(text, parsed):
    assert versions.parse(text) == parsed


@pytest.mark.parametrize("text", [
    "", "v1", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+",
    "1..2", "a.b.c", "1.2.3-rc..1", "99999999999.0.0", "3000000000.0.0",
    "1.0.0-" + ".".join(["1"] * 120), None, 5, "1" * 300])
def test_parse_rejects(text):
    with pytest.raises(errors.Invalid):
        versions.parse(text)


def test_render_round_trip():
    for text in ("1.2.3", "1.2.3-rc.1", "1.2.3-rc.1+b", "0.0.0+x"):
        assert versions.render(versions.parse(text)) == text


def test_sort_key_is_semver_precedence():
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
               "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
               "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0-0", "2.0.0",
               "10.0.0"]
    keys = [versions.sort_key(versions.parse(v)) for v in ordered]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_build_metadata_does_not_change_precedence():
    assert versions.sort_key(versions.parse("1.0.0+a")) == \
        versions.sort_key(versions.parse("1.0.0+b"))
