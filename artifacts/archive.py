"""Unpack an uploaded zip/CSAR into a store folder, refusing hostile archives.

Why from the stored archive and not the request stream: a zip's index (the
central directory) is at the *end*.  Local headers before the members may
lack sizes, disagree with the index, overlap or repeat, so a single pass
would act on members before knowing what the archive holds, and could refuse
the archive as a whole (count, total size, duplicates) only after writing
most of it.  The engine stores the upload first (size-capped like any blob);
we read the index from that copy, check every entry against every bound
before writing a byte, and only then unpack.

Each member is still streamed: read in ``READ_SIZE`` pieces and inflated in
blocks of at most ``BLOCK_SIZE``, never held whole.  Header sizes serve only
as upper bounds, themselves checked against the limits; the bytes actually
produced are counted and a member is aborted within one block of passing its
declared size, so a lying header cannot smuggle a zip bomb through.

The format is read here rather than with ``zipfile``, which turns the whole
index into objects before they can be counted (a 1 GiB upload of empty
entries is millions), cuts names at NUL, quietly truncates a member at its
declared size instead of reporting the lie, and reads an archive whose
comment ends with a fake end record as empty.

=================  ===============  =====================================
bound              error            default
=================  ===============  =====================================
max_members        Invalid (400)    500 entries, folders included
max_total_size     RequestTooLarge  4 GiB unpacked, all files together
max_member_size    RequestTooLarge  2 GiB unpacked, per file
max_ratio          RequestTooLarge  100:1 per file; files of at most
                                    ``RATIO_GRACE`` (1 MiB) are exempt
max_total_ratio    RequestTooLarge  100:1 all files together against the
                                    archive's size; a total of at most
                                    ``RATIO_GRACE`` is exempt
max_path_length    Invalid          1024 characters
max_depth          Invalid          32 segments
=================  ===============  =====================================

The whole archive is bounded, not only each member: a thousand small
members of zeros each pass the per-file ratio (they are under its grace)
but not the total ratio.  The declared total is known before a byte is
written, so ``reserve(total)`` (the caller's quota check) can refuse the
archive before anything is unpacked.  The member count is low because a
member costs a store object (on a filesystem two fsyncs, ~6 ms on a slow
disk) however small it is: an archive of 10,000 empty members is 1 MB to
upload and cost 110 s of server time when written one by one.  Small
members (at most ``PARALLEL_MEMBER_SIZE``) are therefore read whole, in
order, and written by ``PARALLEL_WRITES`` threads at once, which lets the
file system group their syncs (1,000 empty members: 8.4 s one by one,
about 0.7 s in parallel, measured on the test VM); at most
``PARALLEL_BUFFER`` bytes of them are held at a time.  The whole request
for the largest count allowed (500 empty members, 49 KB) took 0.6 s on
SQLite, 0.8 s on PostgreSQL and 1.3 s on MariaDB there.

Member names obey the rule of folder paths (``artifacts.paths``: normalised
to NFC, then no control characters, backslashes, drive letters, '.'/'..' or
empty segments, segments ending in a dot or space), and ``key_prefix + "/" +
path`` must also pass the store's ``check_key``.
Names differing only by case or Unicode normalisation are refused like
exact duplicates: stores are case-sensitive, but packages also get unpacked
on macOS and Windows, where one such file silently replaces the other (a
reviewer would read one file while a tool used the other).  Only "stored"
and "deflate" are accepted -- what zip and CSAR tools write; every further
decoder is more hostile-input surface for no real package.  Encrypted
members, symbolic links and other non-regular files are refused; folder
entries are skipped (folders exist through their files).
"""

import collections
import contextlib
from concurrent import futures
import logging
import stat
import struct
import zlib
from dataclasses import dataclass, field

from artifacts import errors, paths
from artifacts.stores import MAX_KEY_DEPTH, MAX_KEY_LENGTH, check_key
from artifacts.stores.streaming import BLOCK_SIZE, write_stream

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
MAX_MEMBERS = 500
MAX_TOTAL_SIZE = 4 * GiB
MAX_MEMBER_SIZE = 2 * GiB
MAX_RATIO = 100
# Small text files (YAML full of indentation) legitimately compress beyond
# any sane bomb ratio; below this size the ratio is not checked.
RATIO_GRACE = 1024 * 1024
MAX_TOTAL_RATIO = 100
PARALLEL_WRITES = 8
PARALLEL_MEMBER_SIZE = BLOCK_SIZE
PARALLEL_BUFFER = 16 * BLOCK_SIZE
READ_SIZE = 64 * 1024
TOSCA_META = "TOSCA-Metadata/TOSCA.meta"
MAX_TOSCA_META_SIZE = 64 * 1024

_EOCD = struct.Struct("<4s4H2LH")           # end of central directory
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")     # central directory entry
_LOCAL = struct.Struct("<4s5H3L2H")         # local file header
_STORED, _DEFLATED = 0, 8
_METHOD_NAMES = {9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstandard",
                 95: "xz", 98: "ppmd"}
_FLAG_ENCRYPTED = 0x0001 | 0x0040           # traditional or strong
_FLAG_UTF8 = 0x0800
# WinZip AES marks encryption by this method, not (only) by the flag.
_AES_METHOD = 99


@dataclass(frozen=True)
class UnpackedFile:
    """One stored member: its path inside the archive, where the store put
    it, its size and its hex digests."""

    path: str
    location: str
    size: int
    digests: dict = field(default_factory=dict)


# One index entry.  ``name`` is as decoded (for messages), ``path`` the
# checked path without a folder's trailing '/'.
_Entry = collections.namedtuple("_Entry", "name raw_name path is_dir flags "
                                "method crc compressed size offset")


def _not_zip(why):
    return errors.Invalid("The upload is not a zip archive, or it is "
                          "truncated or corrupt: %s." % why)


def _corrupt(e, why):
    return errors.Invalid("Package member %r is corrupt: %s; the archive was "
                          "damaged or crafted." % (e.name, why))


def _read_exact(source, n, what):
    data = source.read(n)
    if len(data) != n:
        raise _not_zip("the data ends inside the %s" % what)
    return data


def _find_directory(source):
    """``(offset, size, count)`` of the central directory, from the end
    record (zip64 or not).  Single-disk archives only."""
    end = source.seek(0, 2)
    # Room for the longest comment and, before the record, a zip64 locator.
    tail_len = min(end, _ZIP64_LOCATOR.size + _EOCD.size + 0xFFFF)
    source.seek(end - tail_len)
    tail = _read_exact(source, tail_len, "end record")
    # The record is followed only by its comment, which may hold bytes that
    # look like another record.  If two candidates both fit, tools disagree
    # on what the archive contains, so such an archive is refused.
    found = []
    pos = len(tail)
    while len(found) < 2:
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
        if pos < 0:
            break
        if (pos + _EOCD.size <= len(tail) and pos + _EOCD.size
                + _EOCD.unpack_from(tail, pos)[7] == len(tail)):
            found.append(pos)
    if not found:
        raise _not_zip("no end-of-central-directory record was found")
    if len(found) > 1:
        raise errors.Invalid("The archive's comment holds a second end "
                             "record, so tools would disagree on its "
                             "contents; the archive is refused.")
    pos = found[0]
    record = _EOCD.unpack_from(tail, pos)
    _, disk, cd_disk, count_disk, count, cd_size, cd_offset, _ = record
    record_start = end - tail_len + pos
    locator = tail[max(0, pos - _ZIP64_LOCATOR.size):pos]
    if len(locator) == _ZIP64_LOCATOR.size and locator[:4] == b"PK\x06\x07":
        _, _, z64_offset, _ = _ZIP64_LOCATOR.unpack(locator)
        source.seek(z64_offset)
        (sig, _, _, _, disk, cd_disk, count_disk, count, cd_size,
         cd_offset) = _ZIP64_EOCD.unpack(
            _read_exact(source, _ZIP64_EOCD.size, "zip64 end record"))
        if sig != b"PK\x06\x06":
            raise _not_zip("the zip64 end record is missing")
        record_start = z64_offset
    if disk or cd_disk or count_disk != count:
        raise errors.Invalid("Multi-part (spanned) zip archives are not "
                             "supported; upload a single-file archive.")
    if cd_offset + cd_size > record_start:
        raise _not_zip("the central directory lies outside the archive")
    return cd_offset, cd_size, count


def _zip64_values(extra, size, compressed, offset):
    """Replace the 0xFFFFFFFF placeholders by the zip64 extra field's
    values (which hold exactly the placeholders, in this order)."""
    values = [size, compressed, offset]
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            data = extra[pos + 4:pos + 4 + length]
            at = 0
            for i, value in enumerate(values):
                if value == 0xFFFFFFFF:
                    if at + 8 > len(data):
                        raise _not_zip("a zip64 extra field is too short")
                    values[i] = struct.unpack_from("<Q", data, at)[0]
                    at += 8
        pos += 4 + length
    return values


def _check_path(name, max_path_length, max_depth):
    """The member path (NFC, a directory's trailing '/' removed); Invalid
    (naming the member and the rule) for anything unsafe or ambiguous.
    The rule is folder paths' (``artifacts.paths``)."""
    path = paths.normalise(name[:-1] if name.endswith("/") else name)
    why = paths.problem(path, max_path_length, max_depth)
    if why:
        raise errors.Invalid("Package member %r has an unsafe path: %s."
                             % (name, why))
    return path


def _read_entries(source, cd_offset, cd_size, count, limits):
    if count > limits["max_members"]:
        raise errors.Invalid(
            "The archive has %d entries; at most %d are allowed."
            % (count, limits["max_members"]))
    source.seek(cd_offset)
    entries = []
    for _ in range(count):
        (sig, _, _, flags, method, _, _, crc, compressed, size, name_len,
         extra_len, comment_len, _, _, external, offset) = _CENTRAL.unpack(
            _read_exact(source, _CENTRAL.size, "central directory"))
        if sig != b"PK\x01\x02":
            raise _not_zip("a central directory entry is damaged")
        tail = _read_exact(source, name_len + extra_len + comment_len,
                           "central directory")
        raw, extra = tail[:name_len], tail[name_len:name_len + extra_len]
        size, compressed, offset = _zip64_values(extra, size, compressed,
                                                 offset)
        # Names are decoded without ever cutting them short (zipfile stops
        # at NUL, so "evil\0.txt" would quietly become "evil"); the path
        # check then refuses NUL like any control character.
        try:
            name = raw.decode("utf-8" if flags & _FLAG_UTF8 else "cp437")
        except UnicodeDecodeError:
            raise errors.Invalid("Package member %r has a name that is not "
                                 "valid UTF-8." % raw)
        path = _check_path(name, limits["max_path_length"],
                           limits["max_depth"])
        kind = stat.S_IFMT(external >> 16)
        if kind == stat.S_IFLNK:
            raise errors.Invalid("Package member %r is a symbolic link; "
                                 "links are not allowed in packages." % name)
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise errors.Invalid("Package member %r is not a regular file."
                                 % name)
        is_dir = name.endswith("/") or kind == stat.S_IFDIR
        if is_dir and size:
            raise errors.Invalid("Package member %r is a folder but holds "
                                 "data." % name)
        entries.append(_Entry(name, raw, path, is_dir, flags, method, crc,
                              compressed, size, offset))
    if source.tell() != cd_offset + cd_size:
        raise _not_zip("the central directory's size does not match its "
                       "entries")
    return entries


def _check_entries(entries, key_prefix, limits):
    """Refuse, before anything is written, every entry that breaks a rule
    its header alone can show."""
    seen = {}
    total = 0
    for e in entries:
        try:
            check_key(key_prefix + "/" + e.path)
        except errors.Invalid as exc:
            raise errors.Invalid("Package member %r cannot be stored under "
                                 "%r: %s" % (e.name, key_prefix, exc.message))
        if e.is_dir:
            continue
        if e.flags & _FLAG_ENCRYPTED or e.method == _AES_METHOD:
            raise errors.Invalid("Package member %r is encrypted; packages "
                                 "must not be encrypted." % e.name)
        if e.method not in (_STORED, _DEFLATED):
            raise errors.Invalid(
                "Package member %r uses the %s compression method; only "
                "'stored' and 'deflate' are supported." % (
                    e.name, _METHOD_NAMES.get(e.method, "#%d" % e.method)))
        if e.method == _STORED and e.compressed != e.size:
            raise _corrupt(e, "it is stored uncompressed, yet its two "
                              "sizes differ")
        folded = paths.fold(e.path)
        if folded in seen:
            raise errors.Invalid(
                "Package member %r appears twice in the archive%s; names must "
                "be unique." % (e.name, "" if seen[folded] == e.name else
                                " (as %r, differing only by case or "
                                "Unicode normalisation)" % seen[folded]))
        seen[folded] = e.name
        if e.size > limits["max_member_size"]:
            raise errors.RequestTooLarge(
                "Package member %r unpacks to %d bytes, more than the limit "
                "of %d bytes per file." % (e.name, e.size,
                                           limits["max_member_size"]))
        if (e.size > RATIO_GRACE
                and e.size > e.compressed * limits["max_ratio"]):
            raise errors.RequestTooLarge(
                "Package member %r expands from %d to %d bytes, more than "
                "%d-fold; this looks like a zip bomb." % (
                    e.name, e.compressed, e.size, limits["max_ratio"]))
        total += e.size
        if total > limits["max_total_size"]:
            raise errors.RequestTooLarge(
                "The archive unpacks to more than the limit of %d bytes in "
                "total (reached at member %r)."
                % (limits["max_total_size"], e.name))
    archive_size = limits["archive_size"]
    if total > RATIO_GRACE and \
            total > archive_size * limits["max_total_ratio"]:
        raise errors.RequestTooLarge(
            "The archive expands from %d to %d bytes, more than %d-fold in "
            "total; this looks like a zip bomb."
            % (archive_size, total, limits["max_total_ratio"]))
    # A file "a" next to "a/b" cannot be stored (nor unpacked anywhere).
    for e in entries:
        parts = paths.fold(e.path).split("/")
        for depth in range(1, len(parts)):
            parent = seen.get("/".join(parts[:depth]))
            if parent is not None and not e.is_dir:
                raise errors.Invalid(
                    "Package member %r is both a file and a folder (see %r)."
                    % (parent, e.name))
    return total


def _data_start(source, e, cd_offset, previous_end):
    """Offset of the member's data, after checking its local header agrees
    with the central directory and its data overlaps nothing."""
    if e.offset < previous_end:
        raise errors.Invalid("Package member %r overlaps another member; the "
                             "archive is crafted or corrupt." % e.name)
    source.seek(e.offset)
    (sig, _, flags, method, _, _, _, _, _, name_len,
     extra_len) = _LOCAL.unpack(_read_exact(source, _LOCAL.size, "headers"))
    if sig != b"PK\x03\x04":
        raise _corrupt(e, "its local header is missing")
    raw = _read_exact(source, name_len, "headers")
    if (raw != e.raw_name or method != e.method
            or (flags ^ e.flags) & _FLAG_ENCRYPTED):
        raise errors.Invalid("Package member %r has a local header that "
                             "disagrees with the archive's index." % e.name)
    start = e.offset + _LOCAL.size + name_len + extra_len
    if start + e.compressed > cd_offset:
        raise _corrupt(e, "its data runs into the archive's index")
    return start


def _raw_blocks(source, e):
    left = e.compressed
    while left:
        data = source.read(min(left, READ_SIZE))
        if not data:
            raise _corrupt(e, "its data is cut short")
        left -= len(data)
        yield data


def _inflate(source, e):
    # max_length caps each call's output; input it could not use yet waits
    # in unconsumed_tail, so a bomb's expansion is never held in memory.
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    compressed = _raw_blocks(source, e)
    while not inflater.eof:
        data = inflater.unconsumed_tail or next(compressed, b"")
        out = inflater.decompress(data, BLOCK_SIZE)
        if out:
            yield out
        elif not data:
            raise _corrupt(e, "its compressed data ends early")
    if inflater.unused_data or next(compressed, None) is not None:
        raise _corrupt(e, "data follows the end of its compressed stream")


def _member_blocks(source, e, start):
    """The member's bytes in blocks, held to its declared size and CRC."""
    source.seek(start)
    produced = 0
    crc = 0
    try:
        for block in (_inflate if e.method == _DEFLATED else _raw_blocks)(
                source, e):
            produced += len(block)
            # Declared sizes passed every bound in _check_entries, so holding
            # the stream to them enforces those bounds on the real bytes.
            if produced > e.size:
                raise errors.Invalid(
                    "Package member %r holds more than the %d bytes its "
                    "header declares; the archive is crafted or corrupt."
                    % (e.name, e.size))
            crc = zlib.crc32(block, crc)
            yield block
    except zlib.error as exc:
        raise _corrupt(e, "it cannot be decompressed (%s)" % exc)
    if produced != e.size:
        raise errors.Invalid(
            "Package member %r holds %d bytes, not the %d its header "
            "declares; the archive is crafted or corrupt."
            % (e.name, produced, e.size))
    if crc != e.crc:
        raise _corrupt(e, "its CRC check fails")


def unpack_zip(source, store, key_prefix, *, max_members=MAX_MEMBERS,
               max_total_size=MAX_TOTAL_SIZE, max_member_size=MAX_MEMBER_SIZE,
               max_ratio=MAX_RATIO, max_total_ratio=MAX_TOTAL_RATIO,
               max_path_length=MAX_KEY_LENGTH, max_depth=MAX_KEY_DEPTH,
               algorithms=("md5", "sha256"), check=None, reserve=None):
    """Unpack the zip in ``source`` (seekable, binary) into ``store`` under
    ``key_prefix + "/" + <member path>``; all or nothing.

    ``source`` is the stored upload (see the module docstring for why not
    the request stream); it is read at many offsets.  Returns
    ``[UnpackedFile]`` in the order the members are stored, with hex
    digests for each of ``algorithms``.
    ``reserve(total)``, if given, is called with the unpacked bytes the
    index declares (every bound already checked) before anything is
    written: a quota check, which refuses by raising.
    ``check(files, store)``, if given, runs once everything is stored (e.g.
    ``validate_csar``); what it raises aborts like any other failure.

    On any failure every member already written is deleted before the
    exception propagates: ``Invalid`` (400) for malformed or unsafe archives,
    ``RequestTooLarge`` (413) for the size and ratio bounds, and the store's
    own errors unchanged.  See the module docstring for the bounds.
    """
    check_key(key_prefix)
    limits = dict(max_members=max_members, max_total_size=max_total_size,
                  max_member_size=max_member_size, max_ratio=max_ratio,
                  max_total_ratio=max_total_ratio,
                  max_path_length=max_path_length, max_depth=max_depth,
                  archive_size=source.seek(0, 2))
    cd_offset, cd_size, count = _find_directory(source)
    entries = _read_entries(source, cd_offset, cd_size, count, limits)
    total = _check_entries(entries, key_prefix, limits)
    if reserve is not None:
        reserve(total)
    files = []
    try:
        _write_members(source, store, key_prefix, entries, cd_offset,
                       algorithms, files)
        if check is not None:
            check(files, store)
    except BaseException:
        _delete_all(store, files)
        raise
    return files


def _write_members(source, store, key_prefix, entries, cd_offset,
                   algorithms, files):
    """Store every file member, appending an ``UnpackedFile`` to ``files``
    for each one stored (also when a later one fails: the caller deletes
    them).  Members are read in archive order; small ones whole, written
    by a pool of threads (see the module docstring), large ones streamed
    here."""
    members = [e for e in sorted(entries, key=lambda e: e.offset)
               if not e.is_dir]
    stored = [None] * len(members)
    pending = collections.deque()          # (index, future, size)
    buffered = 0

    def collect_oldest():
        nonlocal buffered
        index, future, size = pending.popleft()
        buffered -= size
        result = future.result()
        stored[index] = UnpackedFile(members[index].path, result.location,
                                     result.size, result.digests)

    with futures.ThreadPoolExecutor(PARALLEL_WRITES) as pool:
        try:
            previous_end = 0
            for index, e in enumerate(members):
                start = _data_start(source, e, cd_offset, previous_end)
                previous_end = start + e.compressed
                key = key_prefix + "/" + e.path
                if e.size > PARALLEL_MEMBER_SIZE:
                    result = write_stream(store, key,
                                          _member_blocks(source, e, start),
                                          algorithms)
                    stored[index] = UnpackedFile(e.path, result.location,
                                                 result.size, result.digests)
                    continue
                data = b"".join(_member_blocks(source, e, start))
                while pending and buffered + len(data) > PARALLEL_BUFFER:
                    collect_oldest()
                pending.append((index, pool.submit(
                    write_stream, store, key, [data], algorithms),
                    len(data)))
                buffered += len(data)
            while pending:
                collect_oldest()
        finally:
            # On a failure, wait for the writes in flight so that what
            # they stored is deleted with the rest.
            for index, future, _size in pending:
                try:
                    result = future.result()
                except BaseException:  # noqa: BLE001 - nothing was stored
                    continue
                stored[index] = UnpackedFile(members[index].path,
                                             result.location, result.size,
                                             result.digests)
            files.extend(f for f in stored if f is not None)


def _delete_all(store, files):
    for f in files:
        try:
            store.delete(f.location)
        except Exception:
            # Keep deleting the rest; the original error is what the client
            # must see, and the leftover is named for the operator.
            LOG.exception("Could not delete %s after a failed unpack",
                          f.location)


def validate_csar(files, store):
    """Minimal TOSCA CSAR checks on unpacked ``files`` (``UnpackedFile``s):
    either ``TOSCA-Metadata/TOSCA.meta`` names an ``Entry-Definitions`` file
    that is in the package, or there is no TOSCA.meta and exactly one YAML
    file at the root.  ``store`` is used to read TOSCA.meta.  Returns the
    entry definitions' path; raises ``Invalid`` saying what is missing."""
    by_path = {f.path: f for f in files}
    meta = by_path.get(TOSCA_META)
    if meta is None:
        roots = sorted(p for p in by_path if "/" not in p
                       and p.lower().endswith((".yaml", ".yml")))
        if len(roots) == 1:
            return roots[0]
        raise errors.Invalid(
            "The CSAR has no %s, so it needs exactly one YAML file at its "
            "root as entry definitions; found %s." % (
                TOSCA_META, ", ".join(roots) if roots else "none"))
    if meta.size > MAX_TOSCA_META_SIZE:
        raise errors.Invalid("%s is larger than %d bytes."
                             % (TOSCA_META, MAX_TOSCA_META_SIZE))
    with contextlib.closing(store.open(meta.location)) as reader:
        data = reader.read(MAX_TOSCA_META_SIZE)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise errors.Invalid("%s is not UTF-8 text." % TOSCA_META)
    entry = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "Entry-Definitions":
            entry = value.strip()
            break
    if not entry:
        raise errors.Invalid("%s has no Entry-Definitions line naming the "
                             "main service template." % TOSCA_META)
    if entry not in by_path:
        raise errors.Invalid(
            "%s names Entry-Definitions %r, which is not in the package."
            % (TOSCA_META, entry))
    return entry
