"""Database blob store: blobs kept in the Glare database itself, in chunks.

For small deployments that want one thing to back up: every object is a row
of ``store_objects`` and its bytes are rows of ``store_chunks`` of
``chunk_size`` bytes each (1 MiB by default; the last one shorter), on
SQLite, PostgreSQL or MariaDB/MySQL (``LONGBLOB`` there).  The tables come
with the schema (migration ``0002``): run ``glare db upgrade`` on the
database the store points at.

Locations are ``glare-db://<object id>``.  Object ids are never reused
(``AUTOINCREMENT`` on SQLite), so the location of a deleted object can never
name another object's data.

Streamed both ways, never the whole blob in memory:

* a writer buffers at most one chunk and inserts each full chunk as it
  arrives, in its own short transaction (so SQLite's single writer lock is
  never held for a whole upload).  The object row exists from the first
  chunk on but is uncommitted: readers do not see it.  ``commit()`` flips it
  to committed and claims the key in one transaction of its own; ``cancel()``
  (also on garbage collection of an abandoned writer) deletes its rows.
  An object of at most one chunk is written by ``commit()`` alone, in one
  transaction.
* a reader maps ``offset``/``length`` to chunk numbers and fetches the
  chunks it needs lazily, ``read_ahead`` at most per query, each query its
  own short read transaction (no connection is held between reads).  If the
  object is deleted while being read, the next fetch finds no rows and the
  read fails with ``StoreUnavailable`` rather than returning short data.

No overwrite: the committed object's key is claimed through a unique index
on ``slot`` (sha256 of the key; NULL while uploading or after deletion, and
NULLs never collide), so of two writers racing for a key exactly one commit
succeeds, on every database, and the other gets ``Conflict``.  Keys share
one namespace per database, whatever the store's name (as keys of a
filesystem store share its datadir).

Options (a dict):

``engine``       an SQLAlchemy engine (e.g. the one Glare already uses); or
``url``          a database URL, for which an engine is made with
                 ``artifacts.db.session.make_engine``.
``chunk_size``   bytes per chunk row for new objects (default 1 MiB, from
                 64 KiB to 8 MiB -- MariaDB's default max_allowed_packet is
                 16 MiB).  Each object records its own chunk size, so
                 changing it never affects stored objects.
``read_ahead``   chunks fetched per query by readers (default 4).
``read_only``    true to refuse writes and deletes.

``owns`` is true for any well-formed ``glare-db://<id>``: locations do not
name the database, so two database stores on different databases would
both claim them (configure at most one).
"""

import datetime
import hashlib
import re
import threading

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from artifacts import errors
from artifacts.db import session as db_session
from artifacts.db.models import store_chunks, store_objects
from artifacts.stores import (ReaderLifecycle, WriterLifecycle, option_bool,
                              register)

SCHEME = "glare-db"
_PREFIX = SCHEME + "://"
_LOCATION = re.compile(r"^glare-db://([1-9][0-9]{0,18})$")
KiB = 1024
MiB = 1024 * KiB
DEFAULT_CHUNK_SIZE = MiB
MIN_CHUNK_SIZE = 64 * KiB
MAX_CHUNK_SIZE = 8 * MiB
DEFAULT_READ_AHEAD = 4
# Chunks deleted per transaction, so deleting a huge object never holds a
# write lock for long.
DELETE_BATCH = 256


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None, microsecond=0)


def _slot(key):
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _db_error(exc, doing):
    return errors.StoreUnavailable(
        "The database store failed to %s: %s"
        % (doing, getattr(exc, "orig", None) or exc))


class DatabaseStore:
    """Blobs as chunk rows in a SQL database; see the module docstring."""

    scheme = SCHEME

    def __init__(self, name, options):
        self.name = name
        options = dict(options or {})
        engine = options.get("engine")
        url = options.get("url")
        if engine is None and not url:
            raise errors.Invalid(
                "Database store %r needs an 'engine' (SQLAlchemy engine) or "
                "a 'url' option." % name)
        if engine is None:
            try:
                engine = db_session.make_engine(url)
            except (sa_exc.ArgumentError, ImportError) as exc:
                raise errors.Invalid(
                    "Database store %r: cannot use url %r: %s"
                    % (name, url, exc))
        self.engine = engine
        self.chunk_size = int(options.get("chunk_size") or DEFAULT_CHUNK_SIZE)
        if not MIN_CHUNK_SIZE <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise errors.Invalid(
                "Database store %r: 'chunk_size' must be between %d and %d "
                "bytes." % (name, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE))
        self.read_only = option_bool(options.get("read_only"))
        self.read_ahead = int(options.get("read_ahead") or DEFAULT_READ_AHEAD)
        if self.read_ahead < 1:
            raise errors.Invalid("Database store %r: 'read_ahead' must be at "
                                 "least 1." % name)

    # -- transactions -----------------------------------------------------

    def _write(self, fn, doing):
        try:
            return db_session.transaction(self.engine, fn)
        except sa_exc.SQLAlchemyError as exc:
            raise _db_error(exc, doing)

    def _read(self, fn, doing):
        try:
            return db_session.read(self.engine, fn)
        except sa_exc.SQLAlchemyError as exc:
            raise _db_error(exc, doing)

    # -- locations --------------------------------------------------------

    def _object_id(self, location):
        if not isinstance(location, str):
            raise errors.Invalid("Location %r is not a %s:// URL of store %r."
                                 % (location, SCHEME, self.name))
        match = _LOCATION.match(location)
        if not match:
            raise errors.Invalid(
                "Location %r is not a %s://<object id> URL of store %r."
                % (location, SCHEME, self.name))
        object_id = int(match.group(1))
        if object_id >= 2 ** 63:
            raise errors.Invalid("Location %r has an out-of-range object id."
                                 % location)
        return object_id

    def _committed(self, conn, object_id):
        return conn.execute(
            sa.select(store_objects.c.size, store_objects.c.chunk_size)
            .where(store_objects.c.id == object_id,
                   store_objects.c.committed.is_(sa.true()))).first()

    # -- driver interface -------------------------------------------------

    def writer(self, key):
        """A ``DatabaseWriter`` for a new object under ``key``."""
        return DatabaseWriter(self, key)

    def open(self, location, offset=0, length=None):
        """A ``DatabaseReader`` for ``length`` bytes (default: to the end)
        from ``offset``; ``offset == size`` gives an empty reader,
        ``offset > size`` is RangeNotSatisfiable."""
        object_id = self._object_id(location)
        row = self._read(lambda conn: self._committed(conn, object_id),
                         "open %s" % location)
        if row is None:
            raise errors.NotFound("No data at %s." % location)
        size, chunk_size = int(row.size), int(row.chunk_size)
        if offset > size:
            raise errors.RangeNotSatisfiable(
                "Offset %d is beyond the end of the data (%d bytes)."
                % (offset, size))
        remaining = size - offset
        count = remaining if length is None else min(length, remaining)
        return DatabaseReader(self, object_id, size, chunk_size, offset,
                              count)

    def delete(self, location):
        """Remove the object; a missing object is not an error.

        The object disappears (and its key is free again) in the first
        transaction; its chunks are then deleted in batches."""
        object_id = self._object_id(location)

        def hide(conn):
            return conn.execute(
                store_objects.update()
                .where(store_objects.c.id == object_id,
                       store_objects.c.committed.is_(sa.true()))
                .values(committed=False, slot=None,
                        updated_at=utcnow())).rowcount
        if self._write(hide, "delete %s" % location):
            self._delete_rows(object_id)

    def _delete_rows(self, object_id):
        """Delete an (already invisible) object's chunks, then its row."""
        top = self._read(lambda conn: conn.execute(
            sa.select(sa.func.max(store_chunks.c.seq))
            .where(store_chunks.c.object_id == object_id)).scalar(),
            "delete object %d" % object_id)
        start = 0
        while top is not None and start + DELETE_BATCH <= top:
            end = start + DELETE_BATCH

            def batch(conn, start=start, end=end):
                conn.execute(store_chunks.delete().where(
                    store_chunks.c.object_id == object_id,
                    store_chunks.c.seq >= start, store_chunks.c.seq < end))
            self._write(batch, "delete object %d" % object_id)
            start = end

        def last(conn):
            conn.execute(store_chunks.delete().where(
                store_chunks.c.object_id == object_id))
            conn.execute(store_objects.delete().where(
                store_objects.c.id == object_id,
                store_objects.c.committed.is_(sa.false())))
        self._write(last, "delete object %d" % object_id)

    def discard(self, key):
        """Remove everything stored under ``key``: the committed object
        (found by its slot) and the uncommitted objects of writers of
        ``key`` (also of one that died without cancelling; few, and found
        through the ``committed`` index).  Absent data is not an error."""
        def find(conn):
            return [r[0] for r in conn.execute(
                sa.select(store_objects.c.id).where(sa.or_(
                    store_objects.c.slot == _slot(key),
                    sa.and_(store_objects.c.committed.is_(sa.false()),
                            store_objects.c.key == key))))]

        def hide(conn, object_id):
            conn.execute(store_objects.update().where(
                store_objects.c.id == object_id).values(
                committed=False, slot=None, updated_at=utcnow()))
        for object_id in self._read(find, "look up %s" % key):
            self._write(lambda conn: hide(conn, object_id),
                        "discard %s" % key)
            self._delete_rows(object_id)

    def exists(self, location):
        object_id = self._object_id(location)
        row = self._read(lambda conn: self._committed(conn, object_id),
                         "look up %s" % location)
        return row is not None

    def owns(self, location):
        """True for a well-formed ``glare-db://<object id>``."""
        try:
            self._object_id(location)
        except errors.ArtifactError:
            return False
        return True

    def location_for(self, key):
        """Database locations are object ids, known only at commit."""
        raise errors.Invalid(
            "Store %r names its data by object id, assigned when the data "
            "is committed; there is no location for key %r before that."
            % (self.name, key))

    def describe(self):
        return {
            "id": self.name,
            "kind": "database",
            "read_only": self.read_only,
            "scheme": SCHEME,
            "dialect": self.engine.dialect.name,
            "url": self.engine.url.render_as_string(hide_password=True),
            "chunk_size": self.chunk_size,
        }

    # -- maintenance ------------------------------------------------------

    def cleanup_stale(self, max_age_seconds):
        """Delete uncommitted objects (writers of a process that died, or
        deletes interrupted half-way) idle for more than
        ``max_age_seconds``; returns how many.  Live writers touch their
        object with every chunk, so only uploads idle for longer are at
        risk."""
        cutoff = utcnow() - datetime.timedelta(seconds=max_age_seconds)
        ids = self._read(lambda conn: [r[0] for r in conn.execute(
            sa.select(store_objects.c.id).where(
                store_objects.c.committed.is_(sa.false()),
                store_objects.c.updated_at <= cutoff))],
            "list stale objects")
        for object_id in ids:
            self._delete_rows(object_id)
        return len(ids)


class DatabaseWriter(WriterLifecycle):
    """Inserts full chunks as they arrive; see the module docstring."""

    def __init__(self, store, key):
        self.store = store
        self.key = key
        self.chunk_size = store.chunk_size
        self.size = 0
        self.object_id = None
        self._slot = _slot(key)
        self._seq = 0
        self._buf = bytearray()
        self._done = False
        self._lock = threading.Lock()

    def write(self, chunk):
        if self._done:
            raise ValueError("write() on a finished writer")
        view = memoryview(chunk).cast("B")
        pos, n = 0, len(view)
        while pos < n:
            # A full chunk is stored only once more data arrives, so an
            # object of one chunk is written by commit() in one transaction.
            if len(self._buf) >= self.chunk_size:
                self._flush()
            take = min(n - pos, self.chunk_size - len(self._buf))
            self._buf += view[pos:pos + take]
            pos += take
        self.size += n

    def _new_object(self, conn, committed):
        now = utcnow()
        values = {"key": self.key, "size": self.size,
                  "chunk_size": self.chunk_size, "committed": committed,
                  "slot": self._slot if committed else None,
                  "created_at": now, "updated_at": now}
        result = conn.execute(store_objects.insert().values(**values))
        return result.inserted_primary_key[0]

    def _insert_chunk(self, conn, object_id, seq, data):
        conn.execute(store_chunks.insert().values(
            object_id=object_id, seq=seq, data=data))

    def _flush(self):
        data, seq = self._buf, self._seq

        def insert(conn):
            object_id = self.object_id
            if object_id is None:
                object_id = self._new_object(conn, committed=False)
            else:
                touched = conn.execute(
                    store_objects.update()
                    .where(store_objects.c.id == object_id,
                           store_objects.c.committed.is_(sa.false()))
                    .values(updated_at=utcnow())).rowcount
                if not touched:
                    raise errors.StoreUnavailable(
                        "The unfinished upload of %r was removed (by a "
                        "stale-upload cleanup?)." % self.key)
            self._insert_chunk(conn, object_id, seq, data)
            return object_id
        self.object_id = self.store._write(insert, "store %s" % self.key)
        self._seq += 1
        self._buf = bytearray()

    def commit(self):
        """Make the object visible and return its location; ``Conflict`` if
        the key already holds one.  On failure nothing is left behind."""
        if self._done:
            raise ValueError("commit() on a finished writer")
        data, seq = self._buf, self._seq

        def finish(conn):
            object_id = self.object_id
            if object_id is None:
                object_id = self._new_object(conn, committed=True)
            else:
                done = conn.execute(
                    store_objects.update()
                    .where(store_objects.c.id == object_id,
                           store_objects.c.committed.is_(sa.false()))
                    .values(committed=True, slot=self._slot, size=self.size,
                            updated_at=utcnow())).rowcount
                if not done:
                    raise errors.StoreUnavailable(
                        "The unfinished upload of %r was removed (by a "
                        "stale-upload cleanup?)." % self.key)
            if data:
                self._insert_chunk(conn, object_id, seq, data)
            return object_id

        try:
            try:
                object_id = db_session.transaction(self.store.engine, finish)
            except sa_exc.IntegrityError:
                if self._key_taken():
                    raise errors.Conflict(
                        "Data already exists at blob path %r; it is never "
                        "overwritten." % self.key)
                raise
            except sa_exc.SQLAlchemyError as exc:
                raise _db_error(exc, "store %s" % self.key)
        except BaseException:
            self.cancel()
            raise
        with self._lock:
            self._done = True
            self._buf = bytearray()
        return "%s%d" % (_PREFIX, object_id)

    def _key_taken(self):
        return self.store._read(lambda conn: conn.execute(
            sa.select(store_objects.c.id)
            .where(store_objects.c.slot == self._slot)).first() is not None,
            "look up %s" % self.key)

    def cancel(self):
        """Discard everything written (deletes the uncommitted rows); safe
        to call repeatedly and after a failed commit."""
        with self._lock:
            if self._done:
                return
            self._done = True
            object_id, self.object_id = self.object_id, None
            self._buf = bytearray()
        if object_id is not None:
            self.store._delete_rows(object_id)

class DatabaseReader(ReaderLifecycle):
    """Reads ``length`` bytes of one object, fetching chunks lazily."""

    def __init__(self, store, object_id, size, chunk_size, offset, length):
        self._store = store
        self.object_id = object_id
        self.size = size
        self.chunk_size = chunk_size
        self.offset = offset
        self.length = length
        self.block_size = chunk_size
        self._remaining = length
        # Next chunk to fetch, and how much of it to skip (the offset).
        self._next_seq = offset // chunk_size
        self._skip = offset % chunk_size
        self._last_seq = (offset + length - 1) // chunk_size if length else -1
        self._pending = []     # fetched chunk views, in order
        self._pos = 0          # read position in _pending[0]

    def _fetch(self, want):
        """Fetch the next chunks: enough for ``want`` bytes, at most
        ``read_ahead`` of them."""
        first = self._next_seq
        count = max(1, -(-(want + self._skip) // self.chunk_size))
        last = min(self._last_seq, first + min(count,
                                               self._store.read_ahead) - 1)
        object_id = self.object_id

        def select(conn):
            return conn.execute(
                sa.select(store_chunks.c.seq, store_chunks.c.data)
                .where(store_chunks.c.object_id == object_id,
                       store_chunks.c.seq >= first,
                       store_chunks.c.seq <= last)
                .order_by(store_chunks.c.seq)).all()
        rows = self._store._read(select, "read object %d" % object_id)
        if len(rows) != last - first + 1:
            raise errors.StoreUnavailable(
                "Chunks %d-%d of object %d are missing (deleted while being "
                "read?)." % (first, last, object_id))
        for seq, data in rows:
            expected = min(self.chunk_size, self.size - seq * self.chunk_size)
            if seq != first or len(data) != expected:
                raise errors.StoreUnavailable(
                    "Chunk %d of object %d is damaged (%d bytes, expected "
                    "%d)." % (seq, object_id, len(data), expected))
            view = memoryview(data)
            if self._skip:
                view = view[self._skip:]
                self._skip = 0
            self._pending.append(view)
            first += 1
        self._next_seq = first

    def read(self, n=-1):
        """Up to ``n`` bytes (all remaining if ``n`` is negative or None);
        ``b""`` once ``length`` bytes were returned."""
        self._check_open()
        want = self._remaining if n is None or n < 0 else min(n,
                                                               self._remaining)
        if want <= 0:
            return b""
        parts = []
        got = 0
        while got < want:
            if not self._pending:
                self._fetch(want - got)
            head = self._pending[0]
            take = min(want - got, len(head) - self._pos)
            parts.append(head[self._pos:self._pos + take])
            self._pos += take
            got += take
            if self._pos == len(head):
                self._pending.pop(0)
                self._pos = 0
        self._remaining -= got
        if len(parts) == 1:
            return parts[0].tobytes()
        return b"".join(parts)

    def _release(self):
        self._pending = []


register("database", DatabaseStore)
