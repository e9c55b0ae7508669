"""FilesystemStore: the shared conformance suite plus filesystem specifics
(temp files, location confinement, allowed_roots, sendfile-ready fds)."""

import gc
import os
import time

import pytest

from artifacts import errors
from artifacts import stores
from artifacts.stores.filesystem import FilesystemStore, TMP_DIRNAME
from artifacts.stores.streaming import write_stream

from tests.artifacts.stores.conformance import *  # noqa: F401,F403


@pytest.fixture
def datadir(tmp_path):
    return str(tmp_path / "images")


@pytest.fixture
def make_store(datadir):
    def make(**options):
        options.setdefault("datadir", datadir)
        return stores.create("filesystem", "local", options)
    return make


@pytest.fixture
def backend_contents(datadir):
    def contents():
        found = []
        for root, _dirs, files in os.walk(datadir):
            for name in files:
                found.append(os.path.relpath(os.path.join(root, name),
                                             datadir))
        return sorted(found)
    return contents


def _tmp_files(store):
    return sorted(os.listdir(store.tmpdir))


# -- registry and layout --------------------------------------------------------

def test_registered_as_filesystem(datadir):
    s = stores.create("filesystem", "fs1", {"datadir": datadir})
    assert isinstance(s.driver, FilesystemStore)
    assert s.describe()["kind"] == "filesystem"
    assert s.describe()["free_bytes"] >= 0


def test_missing_datadir_option_is_invalid():
    with pytest.raises(errors.Invalid):
        FilesystemStore("x", {})


def test_glance_compatible_location(store):
    loc = write_stream(store, "6f0ad2d5-9c33-4b8b-a1c3-6d0f2a1c2f10",
                       [b"img"]).location
    assert loc == "file://" + os.path.join(store.datadir,
                                           "6f0ad2d5-9c33-4b8b-a1c3-6d0f2a1c2f10")
    assert loc == store.location_for("6f0ad2d5-9c33-4b8b-a1c3-6d0f2a1c2f10")
    with open(loc[len("file://"):], "rb") as f:
        assert f.read() == b"img"


def test_file_placed_by_glance_is_readable(store):
    # Glance wrote <datadir>/<id> directly; our location parsing must agree.
    path = os.path.join(store.datadir, "legacy-id")
    with open(path, "wb") as f:
        f.write(b"legacy")
    assert store.exists("file://" + path)
    assert store.open("file://" + path).read() == b"legacy"


# -- temp files -------------------------------------------------------------------

def test_writer_uses_temp_file_in_tmpdir(store, backend_contents):
    w = store.writer("obj")
    w.write(b"abc")
    assert len(_tmp_files(store)) == 1
    assert backend_contents()[0].startswith(TMP_DIRNAME + "/")
    assert not os.path.exists(os.path.join(store.datadir, "obj"))
    loc = w.commit()
    assert _tmp_files(store) == []
    assert backend_contents() == ["obj"]
    assert store.exists(loc)


def test_gc_of_abandoned_writer_removes_temp_file(store):
    w = store.writer("obj")
    w.write(b"abc")
    assert _tmp_files(store)
    w = None
    gc.collect()
    assert _tmp_files(store) == []


def test_cleanup_stale_temp(store):
    live = store.writer("live")
    live.write(b"in progress")
    # Simulate writers of a crashed process: temp files nobody owns.
    old = os.path.join(store.tmpdir, "w-crashed.part")
    recent = os.path.join(store.tmpdir, "w-recent.part")
    for path in (old, recent):
        with open(path, "wb") as f:
            f.write(b"junk")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert store.cleanup_stale_temp(3600) == 1
    assert not os.path.exists(old)
    assert os.path.exists(recent)
    # The live writer's file is recent and survives; it still commits.
    assert store.exists(live.commit())
    assert store.cleanup_stale_temp(0) == 1
    assert _tmp_files(store) == []


def test_tmp_namespace_is_reserved(store):
    with pytest.raises(errors.Invalid):
        store.writer(TMP_DIRNAME + "/sneaky")
    w = store.writer("x")
    tmp_loc = "file://" + os.path.join(store.tmpdir, _tmp_files(store)[0])
    with pytest.raises(errors.Forbidden):
        store.open(tmp_loc)
    with pytest.raises(errors.Forbidden):
        store.delete(tmp_loc)
    w.cancel()


def test_overlong_segment_is_invalid(store, backend_contents):
    with pytest.raises(errors.Invalid):
        store.writer("x" * 256)
    assert backend_contents() == []


def test_file_mode_option(make_store):
    s = make_store(file_mode=0o640)
    loc = write_stream(s, "moded", [b"x"]).location
    assert os.stat(loc[len("file://"):]).st_mode & 0o777 == 0o640


# -- key/path collisions ------------------------------------------------------------

def test_key_below_existing_object_conflicts(store, backend_contents):
    write_stream(store, "a", [b"file"])
    with pytest.raises(errors.Conflict):
        write_stream(store, "a/b", [b"child"])
    assert backend_contents() == ["a"]


def test_key_naming_a_directory_conflicts(store, backend_contents):
    write_stream(store, "dir/child", [b"x"])
    with pytest.raises(errors.Conflict):
        write_stream(store, "dir", [b"y"])
    assert backend_contents() == ["dir/child"]


def test_delete_prunes_empty_directories(store):
    keep = write_stream(store, "p/keep", [b"k"]).location
    loc = write_stream(store, "p/q/r/obj", [b"x"]).location
    store.delete(loc)
    assert not os.path.exists(os.path.join(store.datadir, "p", "q"))
    assert store.exists(keep)
    store.delete(keep)
    assert sorted(os.listdir(store.datadir)) == [TMP_DIRNAME]


# -- confinement ------------------------------------------------------------------

@pytest.mark.parametrize("location", [
    "file:///etc/passwd",
    "file:///etc/../etc/passwd",
])
def test_location_outside_datadir_is_forbidden(store, location):
    with pytest.raises(errors.Forbidden):
        store.open(location)
    with pytest.raises(errors.Forbidden):
        store.delete(location)
    with pytest.raises(errors.Forbidden):
        store.exists(location)


def test_dotdot_escape_is_forbidden(store, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"secret")
    loc = "file://" + store.datadir + "/../victim"
    with pytest.raises(errors.Forbidden):
        store.open(loc)
    with pytest.raises(errors.Forbidden):
        store.delete(loc)
    assert victim.exists()


def test_symlink_escape_is_forbidden(store, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"secret")
    link = os.path.join(store.datadir, "link")
    os.symlink(str(victim), link)
    with pytest.raises(errors.Forbidden):
        store.open("file://" + link)
    with pytest.raises(errors.Forbidden):
        store.delete("file://" + link)
    assert victim.exists()


@pytest.mark.parametrize("location", [
    "s3://bucket/key", "file://relative/path", "file://", "/no/scheme",
    "file:///with\x00nul",
])
def test_malformed_location_is_invalid(store, location):
    with pytest.raises(errors.Invalid):
        store.open(location)


def test_datadir_itself_is_not_an_object(store):
    with pytest.raises(errors.Forbidden):
        store.delete("file://" + store.datadir)


def test_allowed_roots(make_store, tmp_path):
    old_glance = tmp_path / "old-glance" / "images"
    old_glance.mkdir(parents=True)
    migrated = old_glance / "img-1"
    migrated.write_bytes(b"migrated image")
    loc = "file://" + str(migrated)

    plain = make_store()
    with pytest.raises(errors.Forbidden):
        plain.open(loc)

    s = make_store(allowed_roots=[str(old_glance)])
    assert s.exists(loc)
    reader = s.open(loc, 9)
    assert (reader.size, reader.length) == (14, 5)
    assert reader.read(100) == b"image"
    reader.close()
    s.delete(loc)
    assert not migrated.exists()
    assert old_glance.exists()  # never prunes directories outside datadir
    s.delete(loc)
    # Other paths stay forbidden.
    with pytest.raises(errors.Forbidden):
        s.open("file:///etc/passwd")


def test_allowed_roots_must_be_absolute(datadir):
    with pytest.raises(errors.Invalid):
        FilesystemStore("x", {"datadir": datadir, "allowed_roots": ["rel"]})


# -- readers -------------------------------------------------------------------

def test_reader_fileno_positioned_at_offset(store):
    data = bytes(range(256)) * 40
    loc = write_stream(store, "fd", [data]).location
    reader = store.open(loc, 1000, 500)
    fd = reader.fileno()
    assert os.lseek(fd, 0, os.SEEK_CUR) == 1000
    assert (reader.size, reader.length) == (len(data), 500)
    # What a server would do with sendfile: read `length` bytes from fd.
    assert os.pread(fd, reader.length, 1000) == data[1000:1500]
    assert reader.read(10 ** 6) == data[1000:1500]
    assert os.lseek(fd, 0, os.SEEK_CUR) == 1500  # never read past the range
    reader.close()
    assert reader.closed
    with pytest.raises(ValueError):
        reader.fileno()


def test_reader_iterates_blocks_and_context_manager(make_store):
    s = make_store(block_size=1000)
    data = os.urandom(4500)
    loc = write_stream(s, "it", [data]).location
    with s.open(loc, 100) as reader:
        blocks = list(reader)
    assert [len(b) for b in blocks] == [1000] * 4 + [400]
    assert b"".join(blocks) == data[100:]


def test_reader_detects_truncated_file(store):
    loc = write_stream(store, "shrinks", [b"x" * 1000]).location
    reader = store.open(loc)
    os.truncate(loc[len("file://"):], 10)
    with pytest.raises(errors.StoreUnavailable):
        while reader.read(1000):
            pass
    reader.close()


def test_open_directory_is_not_found(store):
    write_stream(store, "d/obj", [b"x"])
    with pytest.raises(errors.NotFound):
        store.open("file://" + os.path.join(store.datadir, "d"))
    assert not store.exists("file://" + os.path.join(store.datadir, "d"))


def test_writer_after_commit_refuses(store):
    w = store.writer("done")
    w.write(b"x")
    w.commit()
    with pytest.raises(ValueError):
        w.write(b"more")
    with pytest.raises(ValueError):
        w.commit()
    w.cancel()  # harmless
    assert store.exists(store.location_for("done"))


# -- ownership of locations Glare did not write ------------------------------------

def test_migrated_glance_file_is_owned_and_readable(store):
    # Glance wrote <datadir>/<image id>; Glare never saw the upload.
    path = os.path.join(store.datadir, "2d6f9a1e-3c44-4f6e-9b1a-0c2b7d1e5f00")
    with open(path, "wb") as f:
        f.write(b"glance image")
    loc = "file://" + path
    assert store.owns(loc)
    assert stores.owner_of({"local": store}, loc) is store
    reader = store.open(loc, 7)
    assert reader.read() == b"image"
    reader.close()
    assert store.delete(loc) is True and not os.path.exists(path)


def test_symlink_inside_datadir_is_followed(store):
    target = os.path.join(store.datadir, "real")
    with open(target, "wb") as f:
        f.write(b"inside")
    link = os.path.join(store.datadir, "alias")
    os.symlink(target, link)
    assert store.owns("file://" + link)
    assert _get_all(store, "file://" + link) == b"inside"


def _get_all(store, loc):
    with store.open(loc) as reader:
        return reader.read()


def test_symlinked_directory_escape_is_refused(store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"secret")
    os.symlink(str(outside), os.path.join(store.datadir, "door"))
    loc = "file://" + os.path.join(store.datadir, "door", "victim")
    assert not store.owns(loc)
    for call in (store.open, store.delete, store.exists):
        with pytest.raises(errors.Forbidden):
            call(loc)
    assert (outside / "victim").read_bytes() == b"secret"


def test_dotdot_and_symlink_escapes_are_not_owned(store, tmp_path):
    (tmp_path / "victim").write_bytes(b"secret")
    os.symlink(str(tmp_path / "victim"), os.path.join(store.datadir, "ln"))
    for loc in ("file://" + store.datadir + "/../victim",
                "file://" + store.datadir + "/sub/../../victim",
                "file://" + os.path.join(store.datadir, "ln"),
                "file:///etc/passwd"):
        assert not store.owns(loc), loc
        assert stores.owner_of([store], loc) is None


@pytest.mark.parametrize("suffix", ["%2e%2e/victim", "%2E%2E%2Fvictim",
                                    "..%2fvictim", "%2e%2e%2f%2e%2e%2fetc"])
def test_percent_encoded_tricks_are_literal_names(store, tmp_path, suffix):
    # Paths are taken verbatim (as Glance does): an escape is a file name
    # inside the datadir, never a way out of it.
    (tmp_path / "victim").write_bytes(b"secret")
    loc = "file://" + store.datadir + "/" + suffix
    assert store.owns(loc)
    with pytest.raises(errors.NotFound):
        store.open(loc)
    assert not store.exists(loc)


def test_temp_dir_is_not_owned(store):
    w = store.writer("pending")
    w.write(b"x")
    tmp_loc = "file://" + os.path.join(store.tmpdir, _tmp_files(store)[0])
    assert not store.owns(tmp_loc)
    assert not store.owns("file://" + store.tmpdir)
    w.cancel()


def test_allowed_root_locations_are_owned(make_store, tmp_path):
    old = tmp_path / "glance-images"
    old.mkdir()
    (old / "img").write_bytes(b"old")
    s = make_store(allowed_roots=[str(old)])
    assert s.owns("file://%s/img" % old)
    assert not make_store().owns("file://%s/img" % old)


def test_read_only_filesystem_store_over_an_old_datadir(make_store, datadir):
    path = os.path.join(datadir, "legacy")
    os.makedirs(datadir, exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"legacy")
    ro = make_store(read_only=True)
    assert _get_all(ro, "file://" + path) == b"legacy"
    with pytest.raises(errors.Forbidden):
        ro.delete("file://" + path)
    assert os.path.exists(path)


def test_enospc_from_the_disk_is_request_too_large(store, monkeypatch,
                                                   backend_contents):
    import errno as _errno
    w = store.writer("full")

    class FullFile:
        def write(self, chunk):
            raise OSError(_errno.ENOSPC, "No space left on device")

        def close(self):
            pass
    real, w._inner._file = w._inner._file, FullFile()
    with pytest.raises(errors.RequestTooLarge) as info:
        w.write(b"x")
    assert "Image storage media is full" in info.value.message
    real.close()
    w.cancel()
    assert backend_contents() == []
