"""unpack_zip and validate_csar: hostile archives get a clear 4xx and leave
nothing in the store.  Archives are built in memory with zipfile and, where
zipfile will not write the hostile thing, patched byte by byte."""

import hashlib
import io
import os
import stat
import struct
import warnings
import zipfile

import pytest

from artifacts import errors, stores
from artifacts.archive import (RATIO_GRACE, UnpackedFile, unpack_zip,
                               validate_csar)

MiB = 1024 * 1024
CENTRAL = b"PK\x01\x02"
LOCAL = b"PK\x03\x04"


@pytest.fixture
def store(tmp_path):
    return stores.create("filesystem", "fs", {"datadir": str(tmp_path / "d")})


def stored(store):
    """Every file in the store, unfinished uploads included."""
    found = []
    for root, _dirs, names in os.walk(store.datadir):
        found.extend(os.path.relpath(os.path.join(root, n), store.datadir)
                     for n in names)
    return sorted(found)


def build(*members, compression=zipfile.ZIP_DEFLATED):
    """Zip bytes from (name or ZipInfo, data) pairs."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicates
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return buf.getvalue()


def patch(data, signature, offset, fmt, value, which=None):
    """Overwrite a field of every header (or the ``which``-th) with the
    given signature; test data is chosen so signatures occur only there."""
    data = bytearray(data)
    pos, index = data.find(signature), 0
    while pos >= 0:
        if which is None or which == index:
            struct.pack_into(fmt, data, pos + offset, value)
        pos, index = data.find(signature, pos + 1), index + 1
    return bytes(data)


def unpack(data, store, **kw):
    return unpack_zip(io.BytesIO(data), store, "pkg", **kw)


def refused(data, store, error=errors.Invalid, status=400, match=None, **kw):
    with pytest.raises(error) as info:
        unpack(data, store, **kw)
    assert info.value.status == status
    if match:
        assert match in info.value.message, info.value.message
    assert stored(store) == []
    return info.value


def test_unpacks_nested_folders_with_digests(store):
    big = os.urandom(3 * MiB)  # spans several blocks
    dir_info = zipfile.ZipInfo("Definitions/")
    dir_info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
    data = build(("TOSCA-Metadata/TOSCA.meta", b"Entry-Definitions: x\n"),
                 (dir_info, b""),
                 ("Definitions/vnfd.yaml", b"a: b\n" * 1000),
                 ("Files/images/deep/disk.img", big),
                 ("empty", b""))
    files = unpack(data, store)
    contents = {"TOSCA-Metadata/TOSCA.meta": b"Entry-Definitions: x\n",
                "Definitions/vnfd.yaml": b"a: b\n" * 1000,
                "Files/images/deep/disk.img": big, "empty": b""}
    assert [f.path for f in files] == list(contents)
    for f in files:
        body = contents[f.path]
        assert isinstance(f, UnpackedFile)
        assert f.size == len(body)
        assert f.digests == {"md5": hashlib.md5(body).hexdigest(),
                             "sha256": hashlib.sha256(body).hexdigest()}
        assert f.location == store.location_for("pkg/" + f.path)
        with store.open(f.location) as reader:
            assert reader.read() == body
    assert stored(store) == sorted("pkg/" + p for p in contents)


def test_stored_members_and_zip64_records(store, monkeypatch):
    # Tiny zip64 limits make zipfile write zip64 extra fields and end
    # records, which large packages need.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 10)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    data = build(("a/one.txt", b"first file"), ("two.txt", b"second file!"),
                 compression=zipfile.ZIP_STORED)
    assert b"PK\x06\x06" in data
    files = unpack(data, store)
    assert [(f.path, f.size) for f in files] == [("a/one.txt", 10),
                                                 ("two.txt", 12)]


class Unseekable(io.RawIOBase):
    def __init__(self):
        self.data = io.BytesIO()

    def writable(self):
        return True

    def write(self, b):
        return self.data.write(b)


def test_members_with_data_descriptors(store):
    # Written to a pipe, zipfile cannot go back to fill in the local
    # headers: their sizes are 0 and the real ones follow the data.
    out = Unseekable()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", b"streamed " * 100)
    data = out.data.getvalue()
    assert struct.unpack_from("<H", data, 6)[0] & 0x08
    files = unpack(data, store)
    assert [(f.path, f.size) for f in files] == [("a.txt", 900)]


def test_ratio_spares_small_files(store):
    # 1 MiB of indentation deflates ~1000:1 and is still a fine file ...
    [f] = unpack(build(("indent.yaml", b" " * RATIO_GRACE)), store)
    store.delete(f.location)
    # ... one byte more and the ratio applies.
    refused(build(("indent.yaml", b" " * (RATIO_GRACE + 1))), store,
            errors.RequestTooLarge, 413, match="more than 100-fold")


def commented(comment):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", b"data")
        zf.comment = comment
    return buf.getvalue()


def test_end_record_signature_inside_the_comment(store):
    # Read from its real end record this archive holds a.txt; read from the
    # fake one ending its comment (as zipfile does) it is empty.
    data = commented(b"fake end record: PK\x05\x06" + bytes(18))
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == []
    refused(data, store, match="second end record")
    data = commented(b"mentions PK\x05\x06 harmlessly")
    assert [f.path for f in unpack(data, store)] == ["a.txt"]


@pytest.mark.parametrize("name", [
    "../evil", "/abs", "a/../../b", "C:\\x", "C:x", "a\\b", "a//b", "./a",
    "a/./b", "a/..", "line\nbreak", "a.", "dir /b", "C1\x85control",
    "tab\tname",
])
def test_unsafe_paths(store, name):
    data = build(("ok.txt", b"fine"), (name, b"payload"))
    exc = refused(data, store, match="unsafe path")
    assert repr(name) in exc.message


def test_member_names_are_stored_in_nfc(store):
    files = unpack(build(("dir/cafe\u0301.txt", b"x")), store)
    assert [f.path for f in files] == ["dir/caf\u00e9.txt"]


def test_nul_in_central_directory_name(store):
    data = build(("evilX.txt", b"payload")).replace(b"evilX", b"evil\x00")
    refused(data, store, match="NUL")


def test_path_length_and_depth_bounds(store):
    refused(build(("a" * 41, b"x")), store, max_path_length=40,
            match="longer than 40")
    refused(build(("a/b/c/d", b"x")), store, max_depth=3,
            match="more than 3 folders deep")
    # The store's own key rules apply to prefix + path as well.
    refused(build(("/".join("d" * 31) + "/f", b"x")), store,
            match="cannot be stored")


def test_symlink_member(store):
    link = zipfile.ZipInfo("Scripts/link")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    refused(build(("ok.txt", b"fine"), (link, b"/etc/passwd")), store,
            match="symbolic link")


@pytest.mark.parametrize("names,match", [
    (("a.yaml", "a.yaml"), "'a.yaml' appears twice in the archive;"),
    (("README.md", "readme.MD"), "differing only by case"),
    (("caf\u00e9", "cafe\u0301"), "Unicode normalisation"),  # NFC vs NFD
    (("a", "a/b"), "both a file and a folder"),
    (("A/b", "a"), "both a file and a folder"),
])
def test_duplicate_names(store, names, match):
    refused(build(*[(n, b"x") for n in names]), store, match=match)


def test_too_many_members(store):
    data = build(*[("f%d" % i, b"x") for i in range(4)])
    refused(data, store, max_members=3, match="at most 3")
    assert len(unpack(data, store, max_members=4)) == 4


def test_size_bounds(store):
    data = build(("a", b"x" * 600), ("b", b"y" * 600))
    refused(data, store, errors.RequestTooLarge, 413, max_total_size=1000,
            match="limit of 1000 bytes in total")
    refused(data, store, errors.RequestTooLarge, 413, max_member_size=500,
            match="'a' unpacks to 600 bytes")


def bomb(size=100 * MiB):
    """``size`` zero bytes deflated, written block by block (~100 KiB)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.txt", b"a harmless file first")
        with zf.open("bomb.bin", "w") as member:
            block = bytes(MiB)
            for _ in range(size // MiB):
                member.write(block)
    return buf.getvalue()


class CountingStore:
    """Passes everything to a real store, counting bytes handed to it."""

    def __init__(self, store):
        self._store = store
        self.written = 0

    def writer(self, key):
        inner = self._store.writer(key)
        counter = self

        class Writer:
            def write(self, chunk):
                counter.written += len(chunk)
                inner.write(chunk)

            commit = inner.commit
            cancel = inner.cancel
        return Writer()

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_zip_bomb_refused_from_its_header(store):
    data = bomb()
    assert len(data) < 200 * 1024
    counting = CountingStore(store)
    refused(data, counting, errors.RequestTooLarge, 413, match="zip bomb")
    assert counting.written == 0


def test_zip_bomb_whose_header_lies(store):
    # The bomb claims to unpack to 1000 bytes (central and local headers):
    # the bounds pass, so only counting the real output can stop it.
    data = patch(patch(bomb(), CENTRAL, 24, "<L", 1000, which=1),
                 LOCAL, 22, "<L", 1000, which=1)
    counting = CountingStore(store)
    refused(data, counting, match="more than the 1000 bytes its header")
    # Only the harmless member went in, and it was deleted again.
    assert counting.written == len(b"a harmless file first")


def test_header_claiming_more_than_the_data(store):
    data = build(("ok.txt", b"fine"), ("short.txt", b"z" * 100))
    data = patch(data, CENTRAL, 24, "<L", 150, which=1)
    refused(data, store, match="holds 100 bytes, not the 150")


def test_corrupt_data_fails_crc(store):
    data = build(("ok.txt", b"fine"), ("b.txt", b"0123456789"),
                 compression=zipfile.ZIP_STORED)
    refused(data.replace(b"0123456789", b"0123456780"), store,
            match="CRC")


def test_encrypted_member(store):
    data = patch(patch(build(("secret.txt", b"x" * 50)), CENTRAL, 8, "<H",
                       1), LOCAL, 6, "<H", 1)
    refused(data, store, match="encrypted")


def test_unsupported_compression(store):
    data = build(("a.txt", b"x" * 100), compression=zipfile.ZIP_BZIP2)
    refused(data, store, match="bzip2")


def test_local_header_disagreeing_with_index(store):
    data = build(("a.txt", b"x" * 100))
    data = data.replace(b"a.txt", b"b.txt", 1)  # the local header's copy
    refused(data, store, match="disagrees")


def test_overlapping_members(store):
    # Two index entries sharing one member's data: the trick behind
    # "overlapping file" zip bombs.
    data = build(("a.txt", b"x" * 100), ("b.txt", b"x" * 100))
    refused(patch(data, CENTRAL, 42, "<L", 0, which=1), store,
            match="overlaps")


@pytest.mark.parametrize("cut", [
    lambda d: d[:len(d) // 2],
    lambda d: d[:-1],
    lambda d: d[:40] + d[60:],     # member data gone, index intact
])
def test_truncated_archive(store, cut):
    data = build(("ok.txt", b"fine " * 20), ("b.txt", b"more data " * 20))
    refused(cut(data), store, match="not a zip archive")


@pytest.mark.parametrize("data", [b"", b"hello world\n" * 100,
                                  b"PK\x05\x06 garbage"])
def test_not_a_zip(store, data):
    refused(data, store, match="not a zip archive")


def test_store_conflict_removes_what_was_written(store):
    with store.writer("pkg/b.txt") as w:
        w.write(b"already here")
        w.commit()
    with pytest.raises(errors.Conflict):
        unpack(build(("a.txt", b"new"), ("b.txt", b"new")), store)
    assert stored(store) == ["pkg/b.txt"]


def test_bad_prefix(store):
    with pytest.raises(errors.Invalid):
        unpack_zip(io.BytesIO(build(("a", b"x"))), store, "../pkg")


# -- CSAR -----------------------------------------------------------------

META = (b"TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\n"
        b"Created-By: test\nEntry-Definitions: Definitions/vnfd.yaml\n")


def csar(store, *members):
    return unpack(build(*members), store, check=validate_csar)


def test_csar_with_tosca_meta(store):
    files = csar(store, ("TOSCA-Metadata/TOSCA.meta", META),
                 ("Definitions/vnfd.yaml", b"tosca_definitions_version: x\n"))
    assert validate_csar(files, store) == "Definitions/vnfd.yaml"


def test_csar_with_single_root_yaml(store):
    files = csar(store, ("vnfd.yml", b"a: 1\n"), ("Scripts/x.yaml", b"b\n"))
    assert validate_csar(files, store) == "vnfd.yml"


@pytest.mark.parametrize("members,match", [
    ([("TOSCA-Metadata/TOSCA.meta", META)], "not in the package"),
    ([("TOSCA-Metadata/TOSCA.meta", b"CSAR-Version: 1.1\n"),
      ("main.yaml", b"a\n")], "no Entry-Definitions"),
    ([("TOSCA-Metadata/TOSCA.meta", b"\xff\xfe"), ("m.yaml", b"a\n")],
     "not UTF-8"),
    ([("a.yaml", b"a\n"), ("b.yaml", b"b\n")], "found a.yaml, b.yaml"),
    ([("Definitions/vnfd.yaml", b"a\n")], "found none"),
])
def test_invalid_csar_leaves_nothing(store, members, match):
    with pytest.raises(errors.Invalid) as info:
        csar(store, *members)
    assert match in info.value.message
    assert stored(store) == []


# ------------------------------------------------ the archive as a whole

def test_total_ratio_is_bounded(store):
    """Members under the per-file grace pass one by one; together they
    are a bomb."""
    members = [("z%02d" % i, bytes(MiB)) for i in range(8)]
    data = build(*members)
    counting = CountingStore(store)
    exc = refused(data, counting, errors.RequestTooLarge, 413,
                  match="more than 100-fold in total")
    assert str(len(data)) in exc.message
    assert counting.written == 0
    # The same members are fine at a ratio the caller allows, and a total
    # within the grace is never refused.
    for f in unpack(data, store, max_total_ratio=10000):
        store.delete(f.location)
    small = build(*[("s%02d" % i, bytes(64 * 1024)) for i in range(8)])
    assert len(unpack(small, store)) == 8


def test_reserve_sees_the_declared_total_before_any_write(store):
    data = build(("a", b"x" * 600), ("b", b"y" * 400), ("dir/", b""))
    counting = CountingStore(store)
    seen = []

    def reserve(total):
        seen.append((total, counting.written, stored(store)))
        raise errors.RequestTooLarge("over quota")
    refused(data, counting, errors.RequestTooLarge, 413, match="over quota",
            reserve=reserve)
    assert seen == [(1000, 0, [])]
    files = unpack(data, store, reserve=seen.append)
    assert seen[-1] == 1000 and len(files) == 2


def test_a_late_failure_deletes_what_parallel_writes_stored(store):
    """Dozens of small members are written concurrently; a corrupt one
    after them leaves none of them behind."""
    members = [("m%03d" % i, b"member %d" % i) for i in range(60)]
    members.append(("last.txt", b"0123456789"))
    data = build(*members, compression=zipfile.ZIP_STORED)
    refused(data.replace(b"0123456789", b"0123456780"), store,
            match="CRC")
    files = unpack(data, store)
    assert [f.path for f in files] == [n for n, _ in members]
    assert [f.size for f in files] == [len(d) for _, d in members]
