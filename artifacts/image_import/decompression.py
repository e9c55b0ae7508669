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
partial output is removed on any failure.  The decoder's own memory is
bounded too: xz data whose dictionary needs more than ``XZ_MEMLIMIT`` is
refused (an 8-byte header can ask liblzma for gigabytes), and a ZIP member
compressed with LZMA, which Python decodes with no memory limit at all, is
refused with a message saying to use deflate, bzip2, gzip or xz.
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
# liblzma's decoder memory for one xz stream: xz -9 needs 65 MiB, so
# every preset of the xz tool fits; a hand-made header asking for more is
# refused rather than obeyed.
XZ_MEMLIMIT = 128 << 20


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
        if members[0].compress_type == zipfile.ZIP_LZMA:
            raise errors.Invalid(
                "The ZIP archive's file is compressed with LZMA, which this "
                "site does not decompress (its memory use cannot be "
                "bounded); compress it with deflate or bzip2, or use gzip "
                "or xz.")
        with archive.open(members[0]) as data:
            return out.copy_from(data.read, beat)


def _gzip(src, out, beat):
    with gzip.open(src) as data:
        return out.copy_from(data.read, beat)


def _xz(src, out, beat):
    with open(src, "rb") as data:
        return out.copy_from(_XzReader(data).read, beat)


class _XzReader:
    """``read(n)`` of the decompressed xz data in ``fileobj``, each
    stream's decoder held to ``XZ_MEMLIMIT`` (``lzma.open`` takes no
    limit).  Concatenated streams are read one after another, as
    ``xz -d`` does; stream padding (zero bytes) between them is allowed."""

    def __init__(self, fileobj):
        self.fileobj = fileobj
        self.decoder = self._new_decoder()
        self.pending = b""
        self.done = False

    @staticmethod
    def _new_decoder():
        return lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)

    def read(self, size):
        while not self.done:
            if self.decoder.eof:
                rest = self.decoder.unused_data + self.pending
                self.pending = b""
                rest = rest.lstrip(b"\0") or self._more_after_stream()
                if not rest:
                    self.done = True
                    break
                self.decoder = self._new_decoder()
                self.pending = rest
            if self.decoder.needs_input:
                chunk = self.pending or self.fileobj.read(BLOCK)
                self.pending = b""
                if not chunk:
                    raise EOFError("Compressed file ended before the "
                                   "end-of-stream marker was reached")
            else:
                chunk = b""
            block = self.decoder.decompress(chunk, max_length=size)
            if block:
                return block
        return b""

    def _more_after_stream(self):
        while True:
            chunk = self.fileobj.read(BLOCK)
            if not chunk:
                return b""
            chunk = chunk.lstrip(b"\0")
            if chunk:
                return chunk


_DECOMPRESS = {"zip": _zip, "gzip": _gzip, "xz": _xz}
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
    except lzma.LZMAError as exc:
        _remove(dest)
        if "memory" in str(exc).lower():
            raise errors.Invalid(
                "The %s data needs more than %d MiB of memory to "
                "decompress (its dictionary is too large); recompress it "
                "with a preset of at most 9 (xz -9)."
                % (kind, XZ_MEMLIMIT >> 20))
        raise errors.Invalid("The image data could not be decompressed "
                             "(%s): %s" % (kind, exc))
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
