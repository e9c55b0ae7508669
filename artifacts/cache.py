"""A local cache of image data on this node (Glance's image cache).

The cache keeps whole copies of blobs in ``directory`` so that repeated
downloads are read from local disk instead of a remote store (S3).  It sits
*behind* the engine: a face first asks ``engine.data.open`` (policy,
visibility, status: a deleted image is never found), and only then asks the
cache for the ``Download``'s blob.  Entries are keyed by artifact id and
remember the blob they copy (id, size, md5), so an entry that no longer
matches the artifact's data is dropped instead of served.

Layout (one directory per node, like Glance's ``image_cache_dir``)::

    <dir>/<id>               complete entries
    <dir>/incomplete/<id>    the one fill in progress for <id> (O_EXCL claim)
    <dir>/invalid/           entries whose bytes did not match the blob
    <dir>/queue/<id>         ids waiting for the prefetcher
    <dir>/cache.db           SQLite: size, hits, last_accessed, blob

Filling (``tee``): the first full download streams to the client and into
``incomplete/<id>`` at the same time, hashing as it goes; the file is renamed
into place only when every byte arrived and size and digest match the blob,
so no reader ever sees a partial entry and nothing is held in memory.  The
``O_EXCL`` claim makes concurrent first downloads fill it once (the others
just stream).  After a fill the cache is pruned back under ``max_size``,
least recently used first.  ``clean`` removes fills stalled longer than
``stall_time`` and invalid files; ``prune`` and ``clean`` are also run by
``glare cache-prune`` / ``glare cache-clean`` from cron.

Metadata is per node: each node lists what its own disk has (the API's
``/v2/cache`` is the answering node's cache, as with Glance's drivers).
With Glance 33's ``centralized_db`` driver a ``registry``
(``artifacts.cache_nodes.NodeRegistry``) is told each entry gained and
lost, so the database knows which nodes cache an image.
"""

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time

from artifacts import errors
from artifacts.ids import is_canonical_uuid
from artifacts.stores.filesystem import FileReader

LOG = logging.getLogger(__name__)

BLOCK = 1024 * 1024


class ImageCache:
    """The cache of one node; see the module docstring.  Safe to use from
    many threads and processes at once (SQLite in WAL mode, atomic
    renames)."""

    def __init__(self, directory, max_size=10 * 1024 ** 3,
                 stall_time=86400):
        self.directory = os.path.abspath(directory)
        self.max_size = max_size
        self.stall_time = stall_time
        # Glance's centralized_db driver: the database records which
        # nodes cache an image (``registry``, told of each entry gained
        # and lost; None when this node has no URL to be named by).
        self.centralized = False
        self.registry = None
        for sub in ("", "incomplete", "invalid", "queue"):
            os.makedirs(os.path.join(self.directory, sub), exist_ok=True)
        self.db_path = os.path.join(self.directory, "cache.db")
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS cached_images ("
                       "image_id TEXT PRIMARY KEY, blob_id TEXT, "
                       "checksum TEXT, size INTEGER NOT NULL, "
                       "hits INTEGER NOT NULL DEFAULT 0, "
                       "last_accessed REAL NOT NULL, "
                       "last_modified REAL NOT NULL)")

    # ------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _db(self):
        conn = sqlite3.connect(self.db_path, timeout=30,
                               isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    def _path(self, image_id, sub=""):
        """The file of ``image_id``; ids are canonical UUIDs, never paths."""
        if not is_canonical_uuid(image_id):
            raise errors.NotFound("Image %s not found." % image_id)
        return os.path.join(self.directory, sub, image_id)

    @staticmethod
    def _valid(image_id):
        return isinstance(image_id, str) and is_canonical_uuid(image_id)

    # --------------------------------------------------------------- reads

    def is_cached(self, image_id):
        if not self._valid(image_id):
            return False
        with self._db() as db:
            row = db.execute("SELECT 1 FROM cached_images WHERE image_id=?",
                             (image_id,)).fetchone()
        return row is not None and os.path.exists(self._path(image_id))

    def open(self, image_id, blob, offset=0, length=None):
        """A reader of the cached copy of ``blob`` (``offset``/``length`` as
        a store's ``open``), counting a hit; None on a miss.  An entry of
        another blob (the image's data changed) is dropped."""
        if not self._valid(image_id):
            return None
        with self._db() as db:
            row = db.execute("SELECT blob_id, size FROM cached_images "
                             "WHERE image_id=?", (image_id,)).fetchone()
        if row is None:
            return None
        if row["blob_id"] != str(blob["id"]) or row["size"] != blob["size"]:
            LOG.info("Cached copy of %s is of another blob; dropping it",
                     image_id)
            self.delete(image_id)
            return None
        try:
            fd = os.open(self._path(image_id),
                         os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            self._forget(image_id)
            return None
        size = os.fstat(fd).st_size
        if size != blob["size"] or offset > size:
            os.close(fd)
            if size != blob["size"]:
                self.delete(image_id)
                return None
            raise errors.RangeNotSatisfiable(
                "Offset %d is beyond the end of the data (%d bytes)."
                % (offset, size))
        count = size - offset if length is None else min(length,
                                                        size - offset)
        if offset:
            os.lseek(fd, offset, os.SEEK_SET)
        with self._db() as db:
            db.execute("UPDATE cached_images SET hits = hits + 1, "
                       "last_accessed = ? WHERE image_id = ?",
                       (time.time(), image_id))
        return FileReader(fd, size, offset, count, BLOCK)

    def cached_images(self):
        """Records as Glance 33's default driver lists them, in its key
        order: id (a number per entry), image_id, last_accessed,
        last_modified, size, hits, checksum (md5); ordered by image id."""
        with self._db() as db:
            rows = db.execute("SELECT rowid AS id, image_id, last_accessed, "
                              "last_modified, size, hits, checksum FROM "
                              "cached_images ORDER BY image_id").fetchall()
        return [dict(r) for r in rows]

    def total_size(self):
        with self._db() as db:
            return db.execute("SELECT COALESCE(SUM(size), 0) FROM "
                              "cached_images").fetchone()[0]

    # ------------------------------------------------------------- filling

    def tee(self, image_id, blob, reader):
        """``reader`` (the whole blob from its store) wrapped so that what
        is read is also written into the cache; ``reader`` itself when the
        blob cannot be cached (too big, or another fill is running)."""
        size = blob.get("size")
        if not self._valid(image_id) or size is None or \
                size > self.max_size:
            return reader
        incomplete = self._path(image_id, "incomplete")
        try:
            fd = os.open(incomplete, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                         os.O_CLOEXEC, 0o600)
        except FileExistsError:
            return reader        # another download is filling it
        except OSError as exc:
            LOG.warning("Cannot cache image %s: %s", image_id, exc)
            return reader
        return _TeeReader(self, image_id, blob, reader, fd, incomplete)

    def fill(self, image_id, blob, reader):
        """Read all of ``reader`` into the cache (the prefetcher's way);
        True when the entry is now there."""
        tee = self.tee(image_id, blob, reader)
        try:
            if tee is reader:
                return self.is_cached(image_id)
            while tee.read(BLOCK):
                pass
        finally:
            tee.close()
        return self.is_cached(image_id)

    def _commit(self, image_id, blob, incomplete):
        """Called by a finished, verified fill: record it and rename it in
        place, then prune back under the size limit."""
        now = time.time()
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO cached_images (image_id, "
                       "blob_id, checksum, size, hits, last_accessed, "
                       "last_modified) VALUES (?, ?, ?, ?, 0, ?, ?)",
                       (image_id, str(blob["id"]), blob.get("md5"), blob["size"],
                        now, now))
        os.rename(incomplete, self._path(image_id))
        if self.registry is not None:
            self.registry.added(image_id, blob["size"])
        self.prune()

    # ------------------------------------------------------------- removal

    def _forget(self, image_id):
        with self._db() as db:
            return db.execute("DELETE FROM cached_images WHERE image_id=?",
                              (image_id,)).rowcount

    def delete(self, image_id):
        """Remove ``image_id``'s entry (and nothing else); True if there
        was one."""
        if not self._valid(image_id):
            return False
        had = self._forget(image_id)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(image_id))
            had = True
        if had and self.registry is not None:
            self.registry.removed(image_id)
        return bool(had)

    def delete_all(self):
        """Remove every entry; the number removed."""
        return sum(1 for r in self.cached_images()
                   if self.delete(r["image_id"]))

    def prune(self):
        """Evict least recently used entries until the total is within
        ``max_size``; (files, bytes) evicted."""
        files = freed = 0
        total = self.total_size()
        if total <= self.max_size:
            return 0, 0
        with self._db() as db:
            rows = db.execute("SELECT image_id, size FROM cached_images "
                              "ORDER BY last_accessed, image_id").fetchall()
        for row in rows:
            if total <= self.max_size:
                break
            if self.delete(row["image_id"]):
                files += 1
                freed += row["size"]
                total -= row["size"]
        LOG.info("Pruned %d cached images (%d bytes)", files, freed)
        return files, freed

    def clean(self, stall_time=None):
        """Remove fills that made no progress for ``stall_time`` seconds
        (default: the configured one), invalid files, and records whose
        file is gone; the number of files removed."""
        stall = self.stall_time if stall_time is None else stall_time
        removed = 0
        now = time.time()
        for sub, age in (("incomplete", stall), ("invalid", 0)):
            folder = os.path.join(self.directory, sub)
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                with contextlib.suppress(FileNotFoundError):
                    if now - os.stat(path).st_mtime >= age:
                        os.unlink(path)
                        removed += 1
        for row in self.cached_images():
            if not os.path.exists(self._path(row["image_id"])):
                self._forget(row["image_id"])
        return removed

    # --------------------------------------------------------------- queue

    def queue(self, image_id):
        """Ask the prefetcher for ``image_id``; False if it is cached or
        already being filled."""
        if self.is_cached(image_id) or \
                os.path.exists(self._path(image_id, "incomplete")):
            return False
        with open(self._path(image_id, "queue"), "a"):
            pass
        return True

    def queued_images(self):
        """Queued ids, oldest first."""
        folder = os.path.join(self.directory, "queue")
        entries = []
        for name in os.listdir(folder):
            with contextlib.suppress(FileNotFoundError):
                entries.append((os.stat(os.path.join(folder, name))
                                .st_mtime, name))
        return [name for _, name in sorted(entries) if self._valid(name)]

    def dequeue(self, image_id):
        if not self._valid(image_id):
            return False
        try:
            os.unlink(self._path(image_id, "queue"))
            return True
        except FileNotFoundError:
            return False

    def dequeue_all(self):
        return sum(1 for i in self.queued_images() if self.dequeue(i))

    # ---------------------------------------------------------- engine hook

    def on_event(self, event):
        """``engine.events`` listener: a deleted image's entry goes at once
        (as Glance's cache filter does; reads check the database first
        anyway).  A deactivated image keeps its entry, which is not read
        while it is deactivated."""
        if getattr(event.atype, "name", None) != "images":
            return
        if event.name == "delete":
            self.delete(event.artifact_id)
            self.dequeue(event.artifact_id)


class _TeeReader:
    """Reads from the store reader and appends to the fill's file, hashing;
    at the end of the data the entry is verified and committed, on close
    before that (client gone, store error) the partial file is removed."""

    def __init__(self, cache, image_id, blob, reader, fd, incomplete):
        self._cache = cache
        self._id = image_id
        self._blob = blob
        self._reader = reader
        self._fd = fd
        self._path = incomplete
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._got = 0
        self._done = False

    def read(self, n=-1):
        data = self._reader.read(n)
        if self._fd is not None:
            try:
                if data:
                    _write_all(self._fd, data)
                    self._md5.update(data)
                    self._got += len(data)
                if not data or self._got >= self._blob["size"]:
                    self._finish()
            except OSError as exc:
                LOG.warning("Stopped caching image %s: %s", self._id, exc)
                self._abandon()
        return data

    def __iter__(self):
        while True:
            data = self.read(BLOCK)
            if not data:
                return
            yield data

    def _finish(self):
        fd, self._fd = self._fd, None
        os.close(fd)
        want = self._blob.get("md5")
        if self._got != self._blob["size"] or (
                want and self._md5.hexdigest() != want):
            LOG.error("Cached data of image %s does not match its blob "
                      "(%d bytes, md5 %s); not caching it", self._id,
                      self._got, self._md5.hexdigest())
            with contextlib.suppress(OSError):
                os.rename(self._path, os.path.join(
                    self._cache.directory, "invalid", self._id))
            return
        self._cache._commit(self._id, self._blob, self._path)
        self._done = True

    def _abandon(self):
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)

    def close(self):
        if self._fd is not None:
            self._abandon()
        close = getattr(self._reader, "close", None)
        if close:
            close()


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Prefetcher:
    """Fills queued entries in a daemon thread of each worker (Glance's
    cache worker): takes the oldest queued id, opens the artifact's data as
    the system (queueing checked the caller's policy), fills the entry and
    drops the queue file.  An artifact that is gone or not readable is
    dropped from the queue."""

    IDLE_SECONDS = 2.0

    def __init__(self, cache, open_data):
        """``open_data(image_id)`` -> a ``Download`` of the whole data."""
        self.cache = cache
        self.open_data = open_data
        self._stop = threading.Event()
        self._wake = threading.Event()

    def wake(self):
        self._wake.set()

    def start(self):
        thread = threading.Thread(target=self._loop, daemon=True,
                                  name="glare-cache-prefetcher")
        thread.start()
        return thread

    def stop(self):
        self._stop.set()
        self._wake.set()

    def run_once(self):
        """Work through the queue once; the number of entries filled."""
        filled = 0
        for image_id in self.cache.queued_images():
            if self._stop.is_set():
                break
            if self.cache.is_cached(image_id):
                self.cache.dequeue(image_id)
                continue
            try:
                download = self.open_data(image_id)
                if download.blob is None:
                    raise errors.NotFound("no data")
                reader = download.read(0, download.blob["size"])
                if self.cache.fill(image_id, download.blob, reader):
                    filled += 1
                    self.cache.dequeue(image_id)
            except (errors.NotFound, errors.Forbidden, errors.Gone) as exc:
                LOG.info("Not caching queued image %s: %s", image_id, exc)
                self.cache.dequeue(image_id)
            except errors.ArtifactError as exc:
                LOG.warning("Could not cache queued image %s: %s; will "
                            "retry", image_id, exc)
        return filled

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the loop must go on
                LOG.exception("Cache prefetcher error; retrying")
            self._wake.wait(self.IDLE_SECONDS)
            self._wake.clear()
