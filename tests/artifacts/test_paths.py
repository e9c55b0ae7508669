"""artifacts.paths: the one rule of folder paths and archive member names
(normalise to NFC, then check)."""

import pytest

from artifacts import errors, paths


@pytest.mark.parametrize("path,why", [
    ("", "empty"),
    (None, "not a string"),
    ("a\x00b", "control character"),
    ("a\nb", "control character"),
    ("a\x7fb", "control character"),
    ("a\x85b", "control character"),            # C1 (NEL)
    ("a\\b", "backslash"),
    ("/a", "absolute"),
    ("C:x", "drive letter"),
    ("c:/x", "drive letter"),
    ("a:b", "drive letter"),
    ("../a", "climb out"),
    ("a/..", "climb out"),
    ("./a", "'.' segment"),
    ("a//b", "empty"),
    ("a/", "empty"),
    ("a.", "ends with a dot or a space"),
    ("dir./b", "ends with a dot or a space"),
    ("a ", "ends with a dot or a space"),
    ("dir /b", "ends with a dot or a space"),
    ("...", "ends with a dot or a space"),
    ("x" * 1025, "longer than 1024"),
    ("/".join("d" * 33), "more than 32 folders deep"),
])
def test_refused(path, why):
    with pytest.raises(errors.Invalid) as info:
        paths.check(path, "Folder path")
    assert why in info.value.message
    assert info.value.message.startswith("Folder path")


@pytest.mark.parametrize("path", [
    "a", "a/b/c.txt", ".hidden", "dir/.config", "a..b", " lead", "a b/c d",
    "\u00e9t\u00e9.txt", "x" * 1024, "/".join("d" * 32), "ab:c", "A",
])
def test_allowed(path):
    assert paths.check(path) == path


def test_normalised_to_nfc_before_the_check():
    assert paths.check("cafe\u0301") == "caf\u00e9"
    assert paths.fold("Cafe\u0301") == paths.fold("CAF\u00c9") == "caf\u00e9"
    # The check sees the normalised form: an NFD name is never refused for
    # what its composed form does not have.
    assert paths.problem(paths.normalise("e\u0301.txt")) is None


def test_limits_are_parameters():
    assert "longer than 3" in paths.problem("abcd", max_length=3)
    assert "more than 2 folders" in paths.problem("a/b/c", max_depth=2)
