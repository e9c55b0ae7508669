"""DatabaseStore: the shared conformance suite on every database of the
matrix (schema built by the migrations), plus database specifics: chunk
rows, lazy chunk fetching, invisibility of uploads, batched deletes,
stale-upload cleanup, and flat memory for a 64 MiB object both ways."""

import datetime
import gc
import os
import tracemalloc

import pytest
import sqlalchemy as sa

from artifacts import errors
from artifacts import stores
from artifacts.db.models import store_chunks, store_objects
from artifacts.stores import database as dbstore
from artifacts.stores.database import DatabaseStore
from artifacts.stores.streaming import write_stream
from tests.conftest import migrated_database, selected_databases

from tests.artifacts.stores.conformance import *  # noqa: F401,F403
from tests.artifacts.stores.conformance import (  # noqa: E402
    MiB, _get, _pattern, _put)


@pytest.fixture(scope="module", params=selected_databases())
def db(request, tmp_path_factory):
    """(kind, url, engine) of a fresh, migrated database, one per module and
    kind; every test starts from empty store tables."""
    kind = request.param
    tmp = tmp_path_factory.mktemp("db-store-%s" % kind)
    with migrated_database(kind, tmp) as (url, engine):
        yield kind, url, engine


@pytest.fixture
def engine(db):
    engine = db[2]
    with engine.begin() as conn:
        conn.execute(store_chunks.delete())
        conn.execute(store_objects.delete())
    return engine


@pytest.fixture
def make_store(engine):
    def make(**options):
        options.setdefault("engine", engine)
        return stores.create("database", "dbtest", options)
    return make


@pytest.fixture
def backend_contents(engine):
    """Every object row (committed or not, with its chunk count) and every
    chunk row whose object row is gone."""
    def contents():
        with engine.connect() as conn:
            objects = conn.execute(sa.select(
                store_objects.c.id, store_objects.c.key,
                store_objects.c.committed)).all()
            chunks = conn.execute(sa.select(
                store_chunks.c.object_id, sa.func.count())
                .group_by(store_chunks.c.object_id)).all()
        counts = dict((oid, n) for oid, n in chunks)
        found = ["%s [%s, %d chunks]"
                 % (key, "committed" if committed else "uncommitted",
                    counts.pop(oid, 0))
                 for oid, key, committed in objects]
        found.extend("orphan chunks of object %d (%d)" % item
                     for item in counts.items())
        return sorted(found)
    return contents


def _rows(engine, object_id):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(store_chunks.c.seq, sa.func.length(store_chunks.c.data))
            .where(store_chunks.c.object_id == object_id)
            .order_by(store_chunks.c.seq)).all()


def _id(location):
    return int(location[len("glare-db://"):])


class ChunkQueries:
    """Records the seq ranges of the chunk SELECTs run on an engine."""

    def __init__(self, engine):
        self.engine = engine
        self.ranges = []

    def _listen(self, conn, cursor, statement, parameters, context,
                executemany):
        compiled = context.compiled if context is not None else None
        if compiled is None or not statement.lstrip().upper().startswith(
                "SELECT") or "store_chunks.data" not in statement:
            return
        # The bound values of this execution (compiled.params would be
        # those of the cached statement's first compilation).
        params = context.compiled_parameters[0]
        self.ranges.append((params["seq_1"], params["seq_2"]))

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._listen)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._listen)


# -- registry, options, locations ---------------------------------------------------

def test_registered_as_database_with_url(db):
    kind, url, _ = db
    s = stores.create("database", "dbs", {"url": url})
    try:
        assert isinstance(s.driver, DatabaseStore)
        info = s.describe()
        assert info["kind"] == "database" and info["scheme"] == "glare-db"
        assert info["chunk_size"] == MiB
        assert info["dialect"] == {"mysql": "mysql"}.get(kind, kind)
        loc = write_stream(s, "via-url", [b"abc"]).location
        assert _get(s, loc) == b"abc"
        s.delete(loc)
    finally:
        s.engine.dispose()


def test_describe_hides_the_password():
    s = DatabaseStore("x", {"url": "postgresql+psycopg2://u:hunter2@127.0.0.1/d"})
    assert "hunter2" not in repr(s.describe())
    s.engine.dispose()


@pytest.mark.parametrize("options", [
    {}, {"chunk_size": 1024}, {"chunk_size": 64 * MiB}, {"read_ahead": -1},
    {"url": "not a url"},
], ids=["nothing", "tiny-chunk", "huge-chunk", "read-ahead", "bad-url"])
def test_bad_options_are_invalid(options):
    with pytest.raises(errors.Invalid):
        DatabaseStore("x", options)


@pytest.mark.parametrize("location", [
    "glare-db://", "glare-db://0", "glare-db://abc", "glare-db://1/2",
    "glare-db://-1", "glare-db://01", "glare-db://" + "9" * 20,
    "file:///etc/passwd", "s3://bucket/key", None,
])
def test_malformed_location_is_invalid(store, location):
    with pytest.raises(errors.Invalid):
        store.open(location)
    with pytest.raises(errors.Invalid):
        store.delete(location)


def test_location_is_the_object_id(store, engine):
    loc = _put(store, "some/key", b"x")
    assert loc.startswith("glare-db://")
    with engine.connect() as conn:
        row = conn.execute(sa.select(store_objects).where(
            store_objects.c.id == _id(loc))).one()
    assert (row.key, row.size, row.committed) == ("some/key", 1, True)
    assert row.slot == __import__("hashlib").sha256(b"some/key").hexdigest()


def test_ids_are_never_reused(store):
    first = _put(store, "k", b"1")
    store.delete(first)
    second = _put(store, "k", b"2")
    assert _id(second) > _id(first)
    with pytest.raises(errors.NotFound):
        store.open(first)


# -- chunks ---------------------------------------------------------------------------

def test_object_is_stored_in_chunk_rows(make_store, engine):
    s = make_store(chunk_size=64 * 1024)
    data = _pattern(64 * 1024 * 2 + 1000)
    loc = write_stream(s, "chunked", [data[i:i + 5000]
                                      for i in range(0, len(data), 5000)]
                       ).location
    assert _rows(engine, _id(loc)) == [(0, 65536), (1, 65536), (2, 1000)]
    # Each object keeps the chunk size it was written with.
    assert _get(make_store(), loc, 65530, 20) == data[65530:65550]


def test_upload_is_invisible_until_commit(make_store, engine,
                                          backend_contents):
    s = make_store(chunk_size=64 * 1024)
    w = s.writer("pending")
    w.write(_pattern(300 * 1024))
    # Full chunks are already stored, by their own transactions ...
    assert w.object_id is not None
    assert len(_rows(engine, w.object_id)) == 4
    assert backend_contents() == ["pending [uncommitted, 4 chunks]"]
    # ... but nobody can see them.
    hidden = "glare-db://%d" % w.object_id
    assert not s.exists(hidden)
    with pytest.raises(errors.NotFound):
        s.open(hidden)
    s.delete(hidden)            # a location is only valid once committed
    assert len(_rows(engine, w.object_id)) == 4
    loc = w.commit()
    assert loc == hidden and s.exists(loc)
    assert _get(s, loc) == _pattern(300 * 1024)
    assert backend_contents() == ["pending [committed, 5 chunks]"]


def test_small_object_is_written_by_commit_alone(store, backend_contents):
    w = store.writer("small")
    w.write(b"x" * 1000)
    assert w.object_id is None and backend_contents() == []
    assert _get(store, w.commit()) == b"x" * 1000


def test_reader_fetches_chunks_lazily(make_store, engine):
    s = make_store(chunk_size=64 * 1024, read_ahead=3)
    cs = 64 * 1024
    data = _pattern(20 * cs)
    loc = write_stream(s, "lazy", [data]).location
    with ChunkQueries(engine) as q:
        reader = s.open(loc, 5 * cs + 7, 3 * cs)
        assert q.ranges == []              # opening reads no chunk
        assert reader.read(10) == data[5 * cs + 7:5 * cs + 17]
        assert q.ranges == [(5, 5)]        # offset mapped to its chunk
        assert reader.read(cs) == data[5 * cs + 17:6 * cs + 17]
        assert q.ranges == [(5, 5), (6, 6)]
        rest = reader.read()
        assert rest == data[6 * cs + 17:8 * cs + 7]
        # At most read_ahead chunks per query, never past the range.
        assert q.ranges == [(5, 5), (6, 6), (7, 8)]
        reader.close()
        q.ranges.clear()
        reader = s.open(loc)
        assert reader.read() == data
        assert q.ranges == [(0, 2), (3, 5), (6, 8), (9, 11), (12, 14),
                            (15, 17), (18, 19)]


def test_delete_while_reading_fails_loudly(make_store):
    s = make_store(chunk_size=64 * 1024, read_ahead=1)
    loc = write_stream(s, "vanishing", [_pattern(300 * 1024)]).location
    reader = s.open(loc)
    assert reader.read(1000) == _pattern(1000)
    s.delete(loc)
    with pytest.raises(errors.StoreUnavailable):
        reader.read()


def test_damaged_chunk_is_detected(store, engine):
    loc = _put(store, "damaged", _pattern(3000))
    with engine.begin() as conn:
        conn.execute(store_chunks.update().values(data=b"short"))
    with pytest.raises(errors.StoreUnavailable):
        store.open(loc).read()


def test_delete_works_in_batches(make_store, engine, backend_contents,
                                 monkeypatch):
    monkeypatch.setattr(dbstore, "DELETE_BATCH", 2)
    s = make_store(chunk_size=64 * 1024)
    loc = write_stream(s, "batched", [_pattern(7 * 64 * 1024 + 1)]).location
    assert len(_rows(engine, _id(loc))) == 8
    deletes = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        s.delete(loc)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(deletes) == 5   # 4 batches of chunks, then the rest + row
    assert backend_contents() == []


def test_cleanup_stale_uploads(make_store, engine, backend_contents):
    s = make_store(chunk_size=64 * 1024)
    crashed = s.writer("crashed")
    crashed.write(_pattern(200 * 1024))
    live = s.writer("live")
    live.write(_pattern(200 * 1024))
    past = dbstore.utcnow() - datetime.timedelta(hours=2)
    with engine.begin() as conn:
        conn.execute(store_objects.update()
                     .where(store_objects.c.id == crashed.object_id)
                     .values(updated_at=past))
    assert s.cleanup_stale(3600) == 1
    assert backend_contents() == ["live [uncommitted, 3 chunks]"]
    # The writer whose rows were swept fails instead of committing half.
    with pytest.raises(errors.StoreUnavailable):
        crashed.commit()
    assert _get(s, live.commit()) == _pattern(200 * 1024)
    assert s.cleanup_stale(0) == 0    # committed objects are never stale
    assert backend_contents() == ["live [committed, 4 chunks]"]


def test_abandoned_multi_chunk_writer_leaves_nothing(make_store,
                                                     backend_contents):
    s = make_store(chunk_size=64 * 1024)
    w = s.writer("abandoned")
    w.write(_pattern(500 * 1024))
    assert backend_contents()
    del w
    gc.collect()
    assert backend_contents() == []


# -- memory ------------------------------------------------------------------------------

MEMORY_OBJECT = 64 * MiB


def test_memory_stays_flat_both_ways(store, db):
    """A 64 MiB object goes in and out with a bounded, object-size
    independent amount of Python memory (tracemalloc peak)."""
    pool = os.urandom(MiB)
    piece = 64 * 1024

    def chunks():
        sent = 0
        while sent < MEMORY_OBJECT:
            start = (sent // piece * 4099) % (len(pool) - piece)
            yield pool[start:start + piece]
            sent += piece

    tracemalloc.start()
    try:
        result = write_stream(store, "memory/flat", chunks(),
                              algorithms=("sha256",))
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        reader = store.open(result.location)
        total = 0
        import hashlib
        back = hashlib.sha256()
        while True:
            block = reader.read(MiB)
            if not block:
                break
            back.update(block)
            total += len(block)
        reader.close()
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == MEMORY_OBJECT
    assert back.hexdigest() == result.digests["sha256"]
    # write_stream alone keeps up to ~7 blocks of 1 MiB in flight; the
    # driver adds its one-chunk buffer and the database client's copy.
    print("%s: write peak %.1f MiB, read peak %.1f MiB"
          % (db[0], write_peak / MiB, read_peak / MiB))
    assert write_peak < 16 * MiB, write_peak
    assert read_peak < 16 * MiB, read_peak
