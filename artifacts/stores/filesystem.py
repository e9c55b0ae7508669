"""Filesystem blob store: one file per blob under a data directory.

Locations are ``file://<absolute path>`` exactly as Glance writes them
(``file:///var/lib/glance/images/<id>``), so locations migrated from a Glance
database keep working unchanged.  The path after ``file://`` is taken
verbatim: like Glance, we do not percent-encode, so a key containing ``%``,
``?`` or ``#`` round-trips without ambiguity.

Writes are crash safe and never visible half-done: a writer fills a temporary
file in ``<datadir>/.tmp/`` (same filesystem, so the final step is a rename,
not a copy), and ``commit()`` fsyncs it and links it into place.  Objects are
never overwritten: a second upload under an existing key is a ``Conflict``.
A temporary file's name starts with a hash of its key
(``w-<hash>-<random>.part``), so ``discard(key)`` finds the partial data of a
writer that died without cancelling.

Reads and deletes are confined to the data directory (plus configured
``allowed_roots``) so that a location taken from the database can never be
used to read or delete arbitrary files such as ``file:///etc/passwd``.

Options (a dict):

``datadir``         required; created if missing.
``allowed_roots``   extra absolute directories whose files may be opened and
                    deleted (never written), for locations migrated from a
                    Glance whose datadir was elsewhere.
``block_size``      read/write buffer size in bytes (default 1 MiB).
``file_mode``       permission bits for committed files (e.g. ``0o640``);
                    default leaves the private ``0o600`` of the temp file.
``read_only``       true for a store that only reads (an old Glance datadir
                    mounted read-only); writes and deletes are refused.

A location is *owned* (``owns``) by this store when it is a ``file://``
absolute path that resolves (symlinks and ``..`` followed) to a file inside
the data directory or an allowed root, outside the temp directory --
whether Glare wrote it or a migrated Glance did.  Percent-escapes are not
decoded (as in Glance), so ``%2e%2e`` is a file name, never ``..``.
"""

import errno
import hashlib
import os
import stat
import tempfile
import threading
import time

from artifacts import errors
from artifacts.stores import (BoundedReader, WriterLifecycle, check_key,
                              is_space_error, option_bool, register,
                              storage_full)

SCHEME = "file"
_PREFIX = SCHEME + "://"
TMP_DIRNAME = ".tmp"
_TMP_SUFFIX = ".part"
DEFAULT_BLOCK_SIZE = 1024 * 1024
# Longest file name (bytes) of practically every Linux filesystem.
NAME_MAX = 255
# How many times commit re-creates parent directories that a concurrent
# delete pruned between our makedirs and our link.
_COMMIT_ATTEMPTS = 5


def _is_within(path, root):
    """True when ``path`` is strictly inside ``root`` (both real paths)."""
    return path != root and os.path.commonpath([path, root]) == root


def _store_error(exc, doing):
    """Translate an OSError into the engine's vocabulary."""
    if is_space_error(exc):
        # Glance answers a full disk with 413 as well.
        return storage_full(exc.strerror)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return errors.StoreUnavailable(
            "The filesystem store cannot %s: %s" % (doing, exc.strerror))
    return errors.StoreUnavailable(
        "The filesystem store failed to %s: %s" % (doing, exc))


def _tmp_prefix(key):
    """The start of the temporary file names of writers of ``key``."""
    return "w-%s-" % hashlib.sha256(
        key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _fsync_dir(path):
    # Makes the directory entry (a new file or subdirectory) durable; without
    # it a crash right after commit could lose a file we reported as stored.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FilesystemStore:
    """Blobs as files under ``datadir``; see the module docstring."""

    scheme = SCHEME

    def __init__(self, name, options):
        self.name = name
        options = dict(options or {})
        datadir = options.get("datadir")
        if not datadir or not isinstance(datadir, str):
            raise errors.Invalid(
                "Filesystem store %r needs a 'datadir' option (a directory "
                "path)." % name)
        self.block_size = int(options.get("block_size") or DEFAULT_BLOCK_SIZE)
        if self.block_size <= 0:
            raise errors.Invalid("Filesystem store %r: 'block_size' must be "
                                 "positive." % name)
        self.read_only = option_bool(options.get("read_only"))
        mode = options.get("file_mode")
        self.file_mode = None if mode is None else int(mode) & 0o7777
        try:
            os.makedirs(datadir, exist_ok=True)
            self.datadir = os.path.realpath(datadir)
            self.tmpdir = os.path.join(self.datadir, TMP_DIRNAME)
            os.makedirs(self.tmpdir, exist_ok=True)
        except OSError as exc:
            raise _store_error(exc, "create its data directory %r" % datadir)
        roots = options.get("allowed_roots") or ()
        if isinstance(roots, str):
            roots = [roots]
        self.allowed_roots = []
        for root in roots:
            if not os.path.isabs(root):
                raise errors.Invalid(
                    "Filesystem store %r: allowed root %r must be an "
                    "absolute path." % (name, root))
            self.allowed_roots.append(os.path.realpath(root))

    # -- locations --------------------------------------------------------

    def location_for(self, key):
        """The location URL an object under ``key`` has (or would have)."""
        return _PREFIX + self._key_path(key)

    def _key_path(self, key):
        check_key(key)
        parts = key.split("/")
        if parts[0] == TMP_DIRNAME:
            raise errors.Invalid(
                "Blob path %r is reserved by the filesystem store." % key)
        for part in parts:
            try:
                encoded = os.fsencode(part)
            except UnicodeError:
                raise errors.Invalid(
                    "Blob path %r cannot be encoded as a file name." % key)
            if len(encoded) > NAME_MAX:
                raise errors.Invalid(
                    "Blob path %r has a segment longer than %d bytes, which "
                    "the filesystem store cannot name." % (key, NAME_MAX))
        return os.path.join(self.datadir, key)

    def _path(self, location):
        """The real path behind a location, refusing anything that is not
        inside the data directory or an allowed root."""
        if not isinstance(location, str) or not location.startswith(_PREFIX):
            raise errors.Invalid(
                "Location %r is not a %s:// URL of store %r."
                % (location, SCHEME, self.name))
        path = location[len(_PREFIX):]
        if not path.startswith("/") or "\x00" in path:
            raise errors.Invalid(
                "Location %r must be file:// followed by an absolute path."
                % location)
        # realpath resolves '..' and symlinks, so neither can escape a root.
        real = os.path.realpath(path)
        if _is_within(real, self.tmpdir) or real == self.tmpdir:
            raise errors.Forbidden(
                "Location %r points at an unfinished upload." % location)
        if _is_within(real, self.datadir):
            return real
        for root in self.allowed_roots:
            if _is_within(real, root):
                return real
        raise errors.Forbidden(
            "Location %r is outside the data directory of store %r; add its "
            "directory to the store's allowed_roots to permit it."
            % (location, self.name))

    def local_path(self, location):
        """The file behind one of this store's locations, for tools that
        need a file name (qemu-img in image import plugins); only ever
        read through it."""
        return self._path(location)

    # -- driver interface -------------------------------------------------

    def writer(self, key):
        """A ``FileWriter`` for a new object under ``key``."""
        return FileWriter(self, key, self._key_path(key))

    def open(self, location, offset=0, length=None):
        """A ``FileReader`` for ``length`` bytes (default: to the end) from
        ``offset``.  ``offset == size`` gives an empty reader (so a zero-byte
        object opens normally); ``offset > size`` is RangeNotSatisfiable."""
        path = self._path(location)
        try:
            # O_NOFOLLOW: the resolved path must not have become a symlink.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise errors.NotFound("No data at %s." % location)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR):
                raise errors.NotFound("No data at %s." % location)
            raise _store_error(exc, "open %s" % location)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise errors.NotFound("No data at %s." % location)
            size = st.st_size
            if offset > size:
                raise errors.RangeNotSatisfiable(
                    "Offset %d is beyond the end of the data (%d bytes)."
                    % (offset, size))
            remaining = size - offset
            count = remaining if length is None else min(length, remaining)
            if offset:
                os.lseek(fd, offset, os.SEEK_SET)
            return FileReader(fd, size, offset, count, self.block_size)
        except BaseException:
            os.close(fd)
            raise

    def delete(self, location):
        """Remove the object; a missing object is not an error."""
        path = self._path(location)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except IsADirectoryError:
            raise errors.Invalid("Location %r is a directory, not an object."
                                 % location)
        except OSError as exc:
            raise _store_error(exc, "delete %s" % location)
        if _is_within(path, self.datadir):
            self._prune_dirs(os.path.dirname(path))

    def discard(self, key):
        """Remove everything stored under ``key``: the committed file and
        the temporary files of writers of ``key`` (also of one that died
        without cancelling).  Absent data is not an error."""
        prefix = _tmp_prefix(key)
        try:
            entries = [e.path for e in os.scandir(self.tmpdir)
                       if e.name.startswith(prefix)]
        except FileNotFoundError:
            entries = []
        except OSError as exc:
            raise _store_error(exc, "list unfinished uploads")
        for path in entries:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise _store_error(exc, "remove an unfinished upload of %s"
                                   % key)
        self.delete(self.location_for(key))

    def exists(self, location):
        path = self._path(location)
        return os.path.isfile(path) and not os.path.islink(path)

    def owns(self, location):
        """True for a ``file://`` location inside the data directory or an
        allowed root (see the module docstring)."""
        try:
            self._path(location)
        except errors.ArtifactError:
            return False
        return True

    def describe(self):
        info = {
            "id": self.name,
            "kind": "filesystem",
            "scheme": SCHEME,
            "datadir": self.datadir,
            "allowed_roots": list(self.allowed_roots),
            "read_only": self.read_only,
        }
        try:
            st = os.statvfs(self.datadir)
            info["total_bytes"] = st.f_blocks * st.f_frsize
            info["free_bytes"] = st.f_bavail * st.f_frsize
        except OSError:
            pass
        return info

    # -- maintenance ------------------------------------------------------

    def cleanup_stale_temp(self, max_age_seconds):
        """Delete temp files of writers that died (crash, kill -9) and were
        last written more than ``max_age_seconds`` ago; returns how many.

        Live writers touch their file on every write, so only uploads idle
        for longer than ``max_age_seconds`` are at risk; run it at start-up
        with a generous age."""
        cutoff = time.time() - max_age_seconds
        removed = 0
        try:
            entries = list(os.scandir(self.tmpdir))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                    continue
                os.unlink(entry.path)
                removed += 1
            except FileNotFoundError:
                continue
        return removed

    def _prune_dirs(self, directory):
        # Keys like "<artifact id>/<blob>" would otherwise leave one empty
        # directory per deleted artifact forever.  rmdir fails harmlessly on
        # a non-empty directory; commit() retries if we race with it.
        while _is_within(directory, self.datadir):
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    def _makedirs(self, directory):
        """makedirs that fsyncs the parent of every directory it creates."""
        missing = []
        d = directory
        while d != self.datadir and not os.path.isdir(d):
            missing.append(d)
            d = os.path.dirname(d)
        for d in reversed(missing):
            try:
                os.mkdir(d)
            except FileExistsError:
                if not os.path.isdir(d):
                    raise
                continue
            _fsync_dir(os.path.dirname(d))

    def __repr__(self):
        return "FilesystemStore(%r, datadir=%r)" % (self.name, self.datadir)


class FileWriter(WriterLifecycle):
    """Writes one new object through a temp file; see ``commit``.

    Not thread safe (one upload, one writer).  Usable as a context manager:
    leaving the block without ``commit()`` -- by exception or not -- cancels,
    and so does garbage collection of an unfinished writer."""

    def __init__(self, store, key, final_path):
        self.store = store
        self.key = key
        self.size = 0
        self._final = final_path
        self._lock = threading.Lock()
        self._done = False
        self._tmp = None
        self._file = None
        prefix = _tmp_prefix(key)
        try:
            fd, self._tmp = tempfile.mkstemp(
                prefix=prefix, suffix=_TMP_SUFFIX, dir=store.tmpdir)
        except FileNotFoundError:
            # Someone removed .tmp under us (manual cleanup); recreate it.
            os.makedirs(store.tmpdir, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(
                prefix=prefix, suffix=_TMP_SUFFIX, dir=store.tmpdir)
        except OSError as exc:
            raise _store_error(exc, "start an upload")
        # A block-sized buffer: small writes are coalesced, writes of a block
        # or more go straight to the kernel without an extra copy.
        self._file = open(fd, "wb", buffering=store.block_size)

    def write(self, chunk):
        if self._done:
            raise ValueError("write() on a finished writer")
        try:
            self._file.write(chunk)
        except OSError as exc:
            raise _store_error(exc, "write %s" % self.key)
        self.size += memoryview(chunk).nbytes

    def commit(self):
        """Make the data visible under the key and return its location.

        Refuses (``Conflict``) to replace an existing object.  On any failure
        the temp file is removed and the writer is finished."""
        if self._done:
            raise ValueError("commit() on a finished writer")
        try:
            self._flush_and_sync()
            self._link_into_place()
        except BaseException:
            self.cancel()
            raise
        with self._lock:
            self._done = True
            tmp, self._tmp = self._tmp, None
        try:
            os.unlink(tmp)
        except OSError:
            # The data is safely committed; a stray link is swept up by
            # cleanup_stale_temp.
            pass
        return _PREFIX + self._final

    def _flush_and_sync(self):
        f = self._file
        try:
            f.flush()
            if self.store.file_mode is not None:
                os.fchmod(f.fileno(), self.store.file_mode)
            os.fsync(f.fileno())
            f.close()
        except OSError as exc:
            raise _store_error(exc, "write %s" % self.key)

    def _link_into_place(self):
        # os.link fails with EEXIST instead of replacing, which makes the
        # no-overwrite rule atomic (os.replace would silently clobber a
        # concurrent upload of the same key).
        parent = os.path.dirname(self._final)
        for attempt in range(_COMMIT_ATTEMPTS):
            try:
                self.store._makedirs(parent)
                self._publish()
                break
            except FileNotFoundError:
                if not os.path.exists(self._tmp):
                    raise errors.StoreUnavailable(
                        "The unfinished upload of %r was removed (by the "
                        "recovery of a stalled upload?)." % self.key)
                # A concurrent delete pruned the directory; try again.
                if attempt == _COMMIT_ATTEMPTS - 1:
                    raise errors.StoreUnavailable(
                        "Could not create the directory for %s." % self.key)
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                raise errors.Conflict(
                    "Data already exists at blob path %r; it is never "
                    "overwritten." % self.key)
            except OSError as exc:
                raise _store_error(exc, "store %s" % self.key)
        _fsync_dir(parent)

    def _publish(self):
        try:
            os.link(self._tmp, self._final)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK,
                                 errno.EXDEV):
                raise
            # Filesystems without hard links: check-then-rename, which has
            # a small race window but still never replaces known data.
            if os.path.lexists(self._final):
                raise FileExistsError(errno.EEXIST, "exists", self._final)
            os.rename(self._tmp, self._final)

    def cancel(self):
        """Discard everything written; safe to call repeatedly and after a
        (failed) commit."""
        with self._lock:
            if self._done:
                return
            self._done = True
            tmp, self._tmp = self._tmp, None
            f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass

class FileReader(BoundedReader):
    """Reads ``length`` bytes of one object, never more.

    ``fileno()`` is positioned at the range start, so a server may
    ``sendfile(fileno(), length)`` instead of calling ``read``."""

    def __init__(self, fd, size, offset, length, block_size=DEFAULT_BLOCK_SIZE):
        self._fd = fd
        self.size = size
        self.offset = offset
        self.length = length
        self.block_size = block_size
        self._remaining = length

    def fileno(self):
        self._check_open()
        return self._fd

    def _raw(self, want):
        return os.read(self._fd, min(want, self.block_size))

    def _release(self):
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


register("filesystem", FilesystemStore)
