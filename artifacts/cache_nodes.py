"""Which node caches which image: the shared record of the image caches.

Glance 33's default cache driver, ``centralized_db``, keeps its cache
metadata in the shared database, each node under its own URL
(``[DEFAULT] worker_self_reference_url``), so that ``GET
/v2/cache/nodes/{image_id}`` can name every node that holds a copy.  Glare
keeps each node's metadata where its files are (``artifacts.cache``: the
node's ``cache.db``, the truth about what is on its disk) and, with this
driver, also records in the database which node caches which image
(``image_cache_nodes``: image id, node URL, size, when).

``NodeRegistry`` is that record for one node: the node's ``ImageCache``
tells it each entry it gains (``added``) and loses (``removed``), and once
per process, before its first use, ``sync`` adds the entries the cache
holds and the record lacks and drops the rows of entries the cache no
longer holds, so a node that crashed between its own commit and the
shared one, or whose cache was pruned while the database was away, is
right again.  A database error never fails a download or a cache
operation: it is logged, and the next process's ``sync`` repairs the
record.  ``nodes(image_id)`` is the list ``/v2/cache/nodes`` answers (the
nodes that hold it, in URL order).
"""

import logging

import sqlalchemy as sa

from artifacts.db.api import utcnow
from artifacts.db.models import image_cache_nodes as N
from artifacts.db.session import read, transaction

LOG = logging.getLogger(__name__)


class NodeRegistry:
    """The shared record of one node's cached images (see the module
    docstring); ``node_url`` is this node's ``worker_self_reference_url``,
    ``cache`` its ``ImageCache`` (``cached_images``, ``is_cached``)."""

    def __init__(self, db_engine, node_url, cache):
        self.db = db_engine
        self.node_url = node_url
        self.cache = cache
        self._synced = False

    def _write(self, what, fn):
        try:
            transaction(self.db, fn)
            return True
        except Exception as exc:  # noqa: BLE001 - the cache goes on
            LOG.warning("Could not record in the database that node %s %s "
                        "(%s); the next start of a worker records it.",
                        self.node_url, what, exc)
            return False

    def _sync_once(self):
        if not self._synced:
            self._synced = self.sync()

    def added(self, image_id, size):
        """This node now caches ``image_id`` (``size`` bytes)."""
        self._sync_once()

        def run(conn):
            conn.execute(N.delete().where(N.c.image_id == image_id,
                                          N.c.node_url == self.node_url))
            conn.execute(N.insert().values(image_id=image_id,
                                           node_url=self.node_url,
                                           size=size, cached_at=utcnow()))
        self._write("caches image %s" % image_id, run)

    def removed(self, image_id):
        """This node no longer caches ``image_id``."""
        self._sync_once()
        self._write("dropped image %s" % image_id, lambda conn: conn.execute(
            N.delete().where(N.c.image_id == image_id,
                             N.c.node_url == self.node_url)))

    def sync(self):
        """Bring this node's rows in line with its cache; True when the
        database took it.  Rows are dropped only for entries the cache
        still lacks when checked, so a fill that another worker commits
        meanwhile keeps its row."""
        local = {e["image_id"]: e["size"] for e in self.cache.cached_images()}
        now = utcnow()

        def run(conn):
            known = set(conn.execute(sa.select(N.c.image_id).where(
                N.c.node_url == self.node_url)).scalars())
            missing = [{"image_id": i, "node_url": self.node_url,
                        "size": size, "cached_at": now}
                       for i, size in local.items() if i not in known]
            if missing:
                conn.execute(N.insert(), missing)
            gone = [i for i in known - set(local)
                    if not self.cache.is_cached(i)]
            if gone:
                conn.execute(N.delete().where(N.c.node_url == self.node_url,
                                              N.c.image_id.in_(gone)))
        return self._write("caches %d image(s)" % len(local), run)

    def nodes(self, image_id):
        """The URLs of the nodes that cache ``image_id``, in order."""
        self._sync_once()
        return read(self.db, lambda conn: list(conn.execute(
            sa.select(N.c.node_url).where(N.c.image_id == image_id)
            .order_by(N.c.node_url)).scalars()))
