"""The shared record of which node caches which image
(artifacts/cache_nodes.py): told by each node's ImageCache, repaired by
sync, never failing the cache when the database is away; on every
database of the matrix."""

import hashlib
import io
import uuid

import pytest
import sqlalchemy as sa

from artifacts.cache import ImageCache
from artifacts.cache_nodes import NodeRegistry
from artifacts.db import session
from artifacts.db.api import utcnow
from artifacts.db.models import image_cache_nodes as N
from tests.conftest import migrated_database, selected_databases

DATA = b"node data " * 100


@pytest.fixture(scope="module", params=selected_databases())
def db(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cache-nodes-%s" % request.param)
    with migrated_database(request.param, tmp) as (_, eng):
        yield eng


def node(db, tmp_path, name, max_size=10 ** 6):
    cache = ImageCache(str(tmp_path / name), max_size=max_size)
    cache.registry = NodeRegistry(db, "http://%s:9292" % name, cache)
    return cache


def blob(data=DATA):
    return {"id": uuid.uuid4().hex, "size": len(data),
            "md5": hashlib.md5(data).hexdigest()}


def fill(cache, image_id, data=DATA):
    assert cache.fill(image_id, blob(data), io.BytesIO(data))


def rows(db, node_url):
    return session.read(db, lambda c: sorted(c.execute(sa.select(
        N.c.image_id).where(N.c.node_url == node_url)).scalars()))


def test_fills_and_removals_are_recorded_per_node(db, tmp_path):
    a, b = node(db, tmp_path, "node-a"), node(db, tmp_path, "node-b")
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    fill(a, one)
    fill(b, one)
    fill(a, two)
    assert a.registry.nodes(one) == ["http://node-a:9292",
                                     "http://node-b:9292"]
    assert b.registry.nodes(two) == ["http://node-a:9292"]
    assert a.registry.nodes(str(uuid.uuid4())) == []
    # Deleting an entry, clearing a node: only that node's rows go.
    assert a.delete(one)
    assert a.registry.nodes(one) == ["http://node-b:9292"]
    assert b.delete_all() == 1
    assert a.registry.nodes(one) == []
    assert rows(db, "http://node-a:9292") == [two]
    row = session.read(db, lambda c: c.execute(sa.select(N).where(
        N.c.image_id == two)).mappings().one())
    assert row["size"] == len(DATA) and row["cached_at"] is not None


def test_eviction_past_the_size_limit_leaves_the_record(db, tmp_path):
    cache = node(db, tmp_path, "node-small", max_size=len(DATA) * 2)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for image_id in ids:
        fill(cache, image_id)
    kept = {r["image_id"] for r in cache.cached_images()}
    assert len(kept) == 2 and ids[0] not in kept
    assert rows(db, "http://node-small:9292") == sorted(kept)


def test_sync_repairs_what_the_database_missed(db, tmp_path):
    """A node whose record drifted (entries filled or dropped while the
    database was away): its first use adds what is cached and drops what
    is not, and leaves other nodes alone."""
    cache = ImageCache(str(tmp_path / "node-c"))
    kept, stale = str(uuid.uuid4()), str(uuid.uuid4())
    fill(cache, kept)                      # no registry yet: unrecorded
    url = "http://node-c:9292"
    session.transaction(db, lambda c: c.execute(N.insert(), [
        {"image_id": stale, "node_url": url, "size": 1,
         "cached_at": utcnow()},
        {"image_id": stale, "node_url": "http://other:9292", "size": 1,
         "cached_at": utcnow()}]))
    cache.registry = NodeRegistry(db, url, cache)
    assert cache.registry.nodes(kept) == [url]
    assert rows(db, url) == [kept]
    assert cache.registry.nodes(stale) == ["http://other:9292"]


def test_a_database_that_is_away_never_fails_the_cache(tmp_path, caplog):
    gone = session.make_engine("sqlite:///%s" % (tmp_path / "absent" /
                                                 "no.sqlite"))
    cache = ImageCache(str(tmp_path / "node-d"))
    cache.registry = NodeRegistry(gone, "http://node-d:9292", cache)
    image_id = str(uuid.uuid4())
    fill(cache, image_id)
    assert cache.is_cached(image_id)
    assert cache.delete(image_id)
    assert "Could not record in the database that node " \
           "http://node-d:9292" in caplog.text
    gone.dispose()
