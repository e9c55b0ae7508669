"""The ``image_decompression`` import plugin: compressed staged data is
decompressed before it is imported, as Glance's plugin does.

What Glance 33 does, followed here: the data's first bytes decide
(magic numbers): a ZIP archive holding exactly one file, gzip, or LHA
(Glance needs the optional ``lhafile`` module for it; Glare has none, so
LHA data fails the import with Glance's "No lhafile available.").  An
image whose ``container_format`` is ``compressed`` is meant to stay
compressed and is left alone; data with no known magic passes unchanged.
The image's ``size`` becomes the decompressed size (checksum and hash are
computed from the decompressed data when it is imported).

Glare's additions: xz (LZMA) data is decompressed too, and the output is
bounded: decompression stops and the import fails (413) as soon as it
passes ``max_bytes`` (``[glare] decompression_max_bytes``, by default the
image size cap), so a small archive cannot fill the disk (Glance writes
whatever comes out).  Everything works on files, block by block; the
partial output is removed on any failure.
"""

import gzip
import lzma
import os
import zipfile
import zlib

from artifacts import errors

BLOCK = 1 << 20
# Glance's magic numbers (offset, bytes), plus xz.
ZIP = (0, b"PK\x03\x04")
LHA = (2, b"-lh")
GZIP = (0, b"\x1f\x8b\x08")
XZ = (0, b"\xfd7zXZ\x00")
HEADER = 8


def detect(path):
    """The compression of the file at ``path``: 'zip', 'lha', 'gzip',
    'xz' or None."""
    with open(path, "rb") as src:
        head = src.read(HEADER)
    for name, (offset, magic) in (("zip", ZIP), ("lha", LHA),
                                  ("gzip", GZIP), ("xz", XZ)):
        if head.startswith(magic, offset):
            return name
    return None


class _Bounded:
    """A destination file that refuses to grow past ``limit`` bytes."""

    def __init__(self, fd, limit):
        self.fd = fd
        self.limit = limit
        self.size = 0

    def copy_from(self, read, beat):
        while True:
            block = read(BLOCK)
            if not block:
                return self.size
            self.size += len(block)
            if self.limit is not None and self.size > self.limit:
                raise errors.RequestTooLarge(
                    "The decompressed image is larger than %d bytes, the "
                    "most this site decompresses; the import was stopped."
                    % self.limit)
            self.fd.write(block)
            beat(self.size)


def _zip(src, out, beat):
    with zipfile.ZipFile(src) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(archive.infolist()) != 1 or len(members) != 1:
            raise errors.Invalid("Archive contains more than one file.")
        with archive.open(members[0]) as data:
            return out.copy_from(data.read, beat)


def _stream(opener):
    def run(src, out, beat):
        with opener(src) as data:
            return out.copy_from(data.read, beat)
    return run


_DECOMPRESS = {"zip": _zip, "gzip": _stream(gzip.open),
               "xz": _stream(lzma.open)}
_ERRORS = (zipfile.BadZipFile, gzip.BadGzipFile, lzma.LZMAError, zlib.error,
           EOFError, RuntimeError, NotImplementedError)


def decompress(src, dest, kind, max_bytes=None, beat=lambda _n: None):
    """Decompress ``src`` (a ``detect`` kind) into a new file ``dest``;
    returns its size.  Bad data is Invalid, output past ``max_bytes``
    RequestTooLarge; ``dest`` never survives a failure."""
    if kind == "lha":
        raise errors.Invalid("No lhafile available.")
    run = _DECOMPRESS[kind]
    try:
        with open(dest, "xb") as fd:
            return run(src, _Bounded(fd, max_bytes), beat)
    except _ERRORS as exc:
        _remove(dest)
        raise errors.Invalid("The image data could not be decompressed "
                             "(%s): %s" % (kind, exc))
    except BaseException:
        _remove(dest)
        raise


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Decompression:
    """The plugin: see the module docstring."""

    name = "image_decompression"

    def __init__(self, max_bytes=None):
        self.max_bytes = max_bytes

    def run(self, work, image, beat):
        if image["properties"].get("container_format") == "compressed":
            return None
        kind = detect(work.path)
        if kind is None:
            return None
        dest = work.new_file("uc")
        size = decompress(work.path, dest, kind, self.max_bytes, beat)
        work.replace(dest)
        return {"size": size}
