"""The one rule for names inside an artifact: folder paths and archive
member names.

A folder file may be uploaded as ``tree/a/b.txt``, or arrive as a member of
an archive a hook unpacks; either way it may later be downloaded and
written to disk on Linux, macOS or Windows, or compared by a reviewer with
what a tool used.  So both obey the same rule, in one place: first
*normalise* (Unicode NFC, the form macOS and most tools agree on; the NFD
``cafe\\u0301`` and the NFC ``caf\\u00e9`` are then the same path), then
*check*:

* no control character (Unicode category Cc: NUL, newline, DEL, C1 ...);
* no backslash (a separator on Windows), not absolute, no drive letter
  (``C:``);
* no empty, ``.`` or ``..`` segment;
* no segment ending in a dot or a space (Windows drops them, so ``a.`` and
  ``a`` would be one file there);
* at most ``max_length`` characters and ``max_depth`` segments.

Two paths whose ``fold`` is equal (case or normalisation aside) must not
live side by side in one folder: case-insensitive file systems would keep
only one of them.  ``fold`` is the key callers compare.
"""

import re
import unicodedata

from artifacts import errors
from artifacts.stores import MAX_KEY_DEPTH, MAX_KEY_LENGTH

_DRIVE = re.compile(r"^[A-Za-z]:")


def normalise(path):
    """``path`` in Unicode NFC; a non-string is returned unchanged (the
    check refuses it)."""
    if not isinstance(path, str):
        return path
    return unicodedata.normalize("NFC", path)


def problem(path, max_length=MAX_KEY_LENGTH, max_depth=MAX_KEY_DEPTH):
    """Why the (normalised) ``path`` is not allowed, or None."""
    if not isinstance(path, str) or not path:
        return "it is empty or not a string"
    if any(unicodedata.category(ch) == "Cc" for ch in path):
        return "it contains NUL or another control character"
    if "\\" in path:
        return "it contains a backslash; use '/' between folders"
    if path.startswith("/"):
        return "it is absolute"
    if _DRIVE.match(path):
        return "it starts with a drive letter"
    segments = path.split("/")
    if ".." in segments:
        return "'..' would climb out of its folder"
    if "." in segments or "" in segments:
        return "it has an empty or '.' segment"
    for segment in segments:
        if segment.endswith((".", " ")):
            return ("its segment %r ends with a dot or a space, which "
                    "Windows drops" % segment)
    if len(path) > max_length:
        return "it is longer than %d characters" % max_length
    if len(segments) > max_depth:
        return "it is more than %d folders deep" % max_depth
    return None


def check(path, what="Path", max_length=MAX_KEY_LENGTH,
          max_depth=MAX_KEY_DEPTH):
    """The normalised path, or ``errors.Invalid`` naming ``what``, the
    path and the rule it breaks."""
    path = normalise(path)
    why = problem(path, max_length, max_depth)
    if why:
        raise errors.Invalid("%s %r is not allowed: %s." % (what, path, why))
    return path


def fold(path):
    """The key under which two paths are the same file somewhere: NFC,
    then case-folded."""
    return normalise(path).casefold()
