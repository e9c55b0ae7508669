"""Per-project quotas: number of artifacts, stored bytes, bytes in flight.

Quotas
------
``artifact_count``   live (not deleted) artifacts;
``stored_bytes``     sizes of the live blobs of live artifacts (staged
                     data excluded);
``uploading_bytes``  bytes reserved by uploads in progress;
``staged_bytes``     data waiting in staging for an import (a flow field
                     with ``staging``), and staging uploads in progress;
``uploading_count``  artifacts whose data is being written (usage and
                     checks in ``artifacts.quota_usage``).

Each is limited in two scopes of a project, and both bind:

* the project's total over all types (``type_name`` ''): the project's
  override if an admin set one, else ``[quotas] <name>`` (global default);
* one type (``type_name`` = the type): the project's override for that
  type, else ``[quotas] type_<name>`` (per-type default), else unlimited.

The most specific value set wins; -1 is unlimited.  Overrides live in
``artifact_quotas`` and are changed at run time through the API
(``set_quotas``), defaults come from the configuration (``QuotaDefaults``).

Usage is computed in SQL every time, never kept in counters that could
drift: ``count(*)`` of the project's non-deleted artifacts, ``sum(size)`` of
their blobs that are live (``slot`` set), ``active`` and not external (a
registered URL takes no space here), once per location that is not
``deleted`` (a copy into another store takes space again, as Glance's
image_size_total counts size x locations), and the sum of the live rows of
``upload_reservations``.  A deleted artifact is ``deleted``
from the moment its delete commits, so it stops counting at once.

Serialization
-------------
Every decision that could push a project over a limit (a create, a
reservation step, a quota change) runs in one short transaction that first
updates the project's ``quota_guards`` row.  That row lock (PostgreSQL,
MariaDB; SQLite's write lock does the same) makes the decisions of one
project run one at a time, each seeing what the previous one committed, so
concurrent creates or uploads can never together pass a limit.  The wait
is the database's own lock wait, not a poll, and a crashed worker's lock
goes with its connection.  Nothing is held between decisions: an upload
holds the guard only for the few milliseconds of a reservation step.

Uploads
-------
``Quotas.meter(atype, artifact)`` returns a ``Meter`` whose ``wrap(on_chunk)``
is given to ``streaming.write_stream``.  Each time the running total passes
what the upload has reserved, the reservation grows by ``max(8 MiB, 10 %)``
(less when the project is close to its limit, so that concurrent uploads
share the remaining room) after re-checking, under the guard, that stored
bytes + every other live reservation + this upload's total fit.  If not,
``RequestTooLarge`` (413) is raised from ``on_chunk`` before the block is
written: ``write_stream`` cancels the writer, so nothing stays in the store.
The reservation is dropped in the transaction that makes the blob active
(``Meter.settle``), so its bytes move from "in flight" to "stored" in one
step, and in any case when the upload ends (``releases_reservations``).
Its ``expires_at`` (database clock) is renewed while bytes arrive, so the
reservation of a worker that died stops counting after
``RESERVATION_SECONDS``; it names its process (``owner``), so a restarting
server deletes those of this host's dead processes at once
(``artifacts.recovery``).

When no quota applies to the project and type (the default: everything -1
and no override), ``meter`` returns ``NO_METER``, whose ``wrap`` returns the
callback unchanged: one indexed read per upload, no guard, no reservation.
"""

import collections
import contextvars
import functools
import logging
import time

import sqlalchemy as sa

from artifacts import errors, instance, quota_usage, types
from artifacts.db.models import (artifact_blobs, artifact_quotas, artifacts,
                                 blob_locations,
                                 quota_guards, upload_reservations)
from artifacts.db.session import read, transaction
from artifacts.locking import _now as db_clock

LOG = logging.getLogger(__name__)

NAMES = ("artifact_count", "stored_bytes", "uploading_bytes",
         "staged_bytes", "uploading_count")
BYTE_NAMES = ("stored_bytes", "uploading_bytes")
STAGING_NAMES = ("staged_bytes", "uploading_bytes")
ALL_TYPES = ""
UNLIMITED = -1
MAX_VALUE = 2 ** 63 - 1          # BIGINT
RULE = "artifact:manage_quotas"

MIN_STEP = 8 * 1024 * 1024       # bytes an upload reserves at a time ...
STEP_FRACTION = 10               # ... or 1/10 of what it has sent, if more
RESERVATION_SECONDS = 120        # lifetime of an unrenewed reservation

Q = artifact_quotas
R = upload_reservations
G = quota_guards
A = artifacts
B = artifact_blobs
L = blob_locations

Limit = collections.namedtuple("Limit", "type_name name value source")
Breach = collections.namedtuple("Breach", "name type_name project_id limit "
                                "used requested")


def _valid_value(value, where):
    if isinstance(value, bool) or not isinstance(value, int) or \
            not UNLIMITED <= value <= MAX_VALUE:
        raise errors.Invalid("%s must be an integer from -1 (unlimited) to "
                             "%d, not %r." % (where, MAX_VALUE, value))
    return value


class QuotaDefaults:
    """The configured defaults: ``values`` {name: limit} for the project
    total, ``per_type`` {type_name: {name: limit}}; missing is -1."""

    def __init__(self, values=None, per_type=None):
        self.values = {name: UNLIMITED for name in NAMES}
        for name, value in (values or {}).items():
            if name not in NAMES:
                raise ValueError("Unknown quota %r; quotas are: %s"
                                 % (name, ", ".join(NAMES)))
            self.values[name] = _valid_value(value, "Quota %s" % name)
        self.per_type = {}
        for type_name, limits in (per_type or {}).items():
            for name, value in limits.items():
                if name not in NAMES:
                    raise ValueError("Unknown quota %r; quotas are: %s"
                                     % (name, ", ".join(NAMES)))
                self.per_type.setdefault(type_name, {})[name] = \
                    _valid_value(value, "Quota %s of %s" % (name, type_name))

    @classmethod
    def from_conf(cls, conf):
        """Defaults from ``[quotas]`` (see ``glare.config``)."""
        section = conf.quotas
        known = types.all_types()
        per_type = {}
        for name in NAMES:
            option = "type_" + name
            for type_name, value in (getattr(section, option) or {}).items():
                if type_name not in known:
                    raise ValueError(
                        "[quotas] %s names %r, which is not an artifact "
                        "type; types are: %s" % (option, type_name,
                                                 ", ".join(sorted(known))))
                per_type.setdefault(type_name, {})[name] = value
        return cls({name: getattr(section, name) for name in NAMES},
                   per_type)

    def limit(self, type_name, name):
        """(value, source) of the default for one scope."""
        if type_name == ALL_TYPES:
            return self.values[name], "global_default"
        value = self.per_type.get(type_name, {}).get(name)
        if value is None:
            return UNLIMITED, "none"
        return value, "type_default"

    @property
    def unlimited(self):
        return all(v == UNLIMITED for v in self.values.values()) and all(
            v == UNLIMITED for limits in self.per_type.values()
            for v in limits.values())


# ------------------------------------------------------------------ messages

def _exceeded(name, project_id, type_name, limit, used, requested):
    scope = " (%s)" % type_name if type_name else ""
    error = errors.RequestTooLarge(
        "Quota exceeded for %s%s in project %s: limit %d, used %d, "
        "requested %d." % (name, scope, project_id, limit, used, requested))
    # For a face that words the refusal its own way (glance_compat names
    # the images' quotas as Glance's unified limits).
    error.quota = Breach(name, type_name, project_id, limit, used,
                         requested)
    return error


# ------------------------------------------------------------ release scope

_METERS = contextvars.ContextVar("glare_quota_meters", default=None)


def releases_reservations(method):
    """Decorate an engine method that meters uploads: every reservation
    made during the call is released when it returns or raises (after
    ``Meter.settle`` the release finds nothing left to delete)."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        token = _METERS.set([])
        try:
            return method(*args, **kwargs)
        finally:
            meters = _METERS.get()
            _METERS.reset(token)
            for meter in meters:
                meter.release()
    return wrapper


class _NoMeter:
    """No byte quota applies: the upload runs exactly as without quotas."""

    reserved = 0

    def wrap(self, on_chunk):
        return on_chunk

    def cover(self, extra):
        pass

    def settle(self, conn, unmetered=0):
        pass

    def release(self):
        pass


NO_METER = _NoMeter()


class Meter:
    """The byte reservation of one upload (see the module docstring)."""

    def __init__(self, quotas, project_id, type_name, artifact_id):
        self.quotas = quotas
        self.project_id = project_id
        self.type_name = type_name
        self.artifact_id = artifact_id
        self.id = None               # upload_reservations row
        self.reserved = 0            # bytes it holds
        self.total = 0               # bytes received so far
        self.steps = 0               # reservation transactions made
        self.names = BYTE_NAMES      # the quotas it is checked against
        self._renewed = time.monotonic()

    def wrap(self, on_chunk):
        """``on_chunk`` for ``write_stream``: reserve (or refuse) before
        each block, then call the wrapped callback (heartbeats)."""
        renew_every = self.quotas.reservation_seconds / 3.0

        def checked(total):
            self.total = total
            if total > self.reserved:
                self._grow(total)
            elif time.monotonic() - self._renewed > renew_every:
                self._renew(total)
            if on_chunk is not None:
                on_chunk(total)
        return checked

    def cover(self, extra):
        """Reserve ``extra`` bytes more than those streamed so far (files
        a hook is about to unpack from the upload), or raise
        ``RequestTooLarge`` before any of them is written.  ``settle``
        then checks them again with everything the upload stores."""
        if extra > 0:
            self._grow(self.total + extra)

    def _grow(self, total):
        try:
            self.id, self.reserved = transaction(
                self.quotas.db, lambda conn: self.quotas._reserve(
                    conn, self, total))
        except errors.RequestTooLarge:
            LOG.info("Upload into %s %s stopped at %d bytes: over quota",
                     self.type_name, self.artifact_id, total)
            self.release()
            raise
        self.steps += 1
        self._renewed = time.monotonic()

    def _renew(self, total):
        expires = db_clock(self.quotas.dialect,
                           self.quotas.reservation_seconds)

        def renew(conn):
            _no_flush_wait(conn)
            return conn.execute(R.update().where(R.c.id == self.id).values(
                expires_at=expires)).rowcount
        kept = self.id is not None and \
            transaction(self.quotas.db, renew) == 1
        self._renewed = time.monotonic()
        if not kept:
            # Expired (the client stalled) and purged: reserve anew, which
            # re-checks the quota.
            self.id, self.reserved = None, 0
            self._grow(total)

    def settle(self, conn, unmetered=0):
        """Drop the reservation inside the transaction that makes the blob
        active: its bytes then count as stored, never twice or not at
        all.

        ``unmetered``: bytes this transaction also makes active that did
        not stream through the meter (files a hook unpacked from the
        upload); the project's ``stored_bytes`` are then checked again,
        under the guard, with everything the transaction stores, and
        ``RequestTooLarge`` rolls it back.
        """
        if unmetered:
            self.quotas._recheck_stored(conn, self, unmetered)
        if self.id is not None:
            conn.execute(R.delete().where(R.c.id == self.id))

    def release(self):
        """Drop the reservation (idempotent; errors are logged: it then
        expires by itself)."""
        if self.id is None:
            return
        reservation, self.id, self.reserved = self.id, None, 0

        def drop(conn):
            _no_flush_wait(conn)
            conn.execute(R.delete().where(R.c.id == reservation))
        try:
            transaction(self.quotas.db, drop)
        except sa.exc.SQLAlchemyError:
            LOG.exception("Could not release upload reservation %s; it "
                          "expires in at most %ss", reservation,
                          self.quotas.reservation_seconds)


# ------------------------------------------------------------------ service

class Quotas:
    """Quota checks of one engine (``engine.quotas``); thread-safe."""

    def __init__(self, db_engine, defaults=None, min_step=MIN_STEP,
                 reservation_seconds=RESERVATION_SECONDS, external=None):
        self.db = db_engine
        self.dialect = db_engine.dialect.name
        self.defaults = defaults or QuotaDefaults()
        self.min_step = int(min_step)
        self.reservation_seconds = float(reservation_seconds)
        # Limits kept outside Glare (Keystone's unified limits, see
        # artifacts.keystone_limits): ``managed`` {(type_name, name)} and
        # ``limits(project_id)`` {(type_name, name): value}.  They take the
        # place of overrides and defaults for the scopes they manage.
        self.external = external

    # --------------------------------------------------------------- limits

    def warm(self, project_id):
        """Read the project's external limits now, before a transaction
        that needs them: a cache miss asks Keystone, which must not
        happen while the transaction holds locks (SQLite's write lock)."""
        if self.external is not None and project_id:
            self.external.limits(project_id)

    def overrides(self, conn, project_id, type_names=None):
        """{(type_name, name): value} set for ``project_id`` (only the
        given scopes if ``type_names``)."""
        query = sa.select(Q.c.type_name, Q.c.name, Q.c.value).where(
            Q.c.project_id == project_id)
        if type_names is not None:
            query = query.where(Q.c.type_name.in_(list(type_names)))
        found = {(row.type_name, row.name): row.value
                 for row in conn.execute(query)}
        if self.external is not None:
            for key, value in self.external.limits(project_id).items():
                if type_names is None or key[0] in type_names:
                    found[key] = Limit(key[0], key[1], value,
                                       self.external.source)
        return found

    def resolve(self, overrides, type_name, name):
        """The effective ``Limit`` of one scope of a project."""
        if (type_name, name) in overrides:
            value = overrides[(type_name, name)]
            if isinstance(value, Limit):         # an external limit
                return value
            return Limit(type_name, name, value, "override")
        value, source = self.defaults.limit(type_name, name)
        return Limit(type_name, name, value, source)

    def binding(self, conn, project_id, type_name, names):
        """The limits (value ≥ 0) that bind an operation on ``type_name``
        in ``project_id``: both scopes, the given quota names."""
        overrides = self.overrides(conn, project_id, (ALL_TYPES, type_name))
        if not overrides and self.defaults.unlimited:
            return []
        limits = [self.resolve(overrides, scope, name)
                  for scope in (ALL_TYPES, type_name) for name in names]
        return [limit for limit in limits if limit.value != UNLIMITED]

    def effective(self, conn, project_id, type_names=None):
        """Every effective limit of a project: the total and each type."""
        if type_names is None:
            type_names = sorted(types.all_types())
        overrides = self.overrides(conn, project_id)
        return [self.resolve(overrides, scope, name)
                for scope in [ALL_TYPES] + list(type_names)
                for name in NAMES]

    # ---------------------------------------------------------------- usage

    def counts(self, conn, project_id):
        """{type_name: live artifacts} of a project."""
        return dict(conn.execute(
            sa.select(A.c.type_name, sa.func.count())
            .where(A.c.owner == project_id, A.c.deleted == sa.false())
            .group_by(A.c.type_name)).all())

    def stored(self, conn, project_id):
        """{type_name: bytes of live blobs of live artifacts, once per copy}
        (a blob in three stores counts three times, as Glance's
        image_size_total counts an image's size once per location that is
        not deleted; external blobs, URLs registered as data, take no
        space here: not counted)."""
        return {t: int(n or 0) for t, n in conn.execute(
            sa.select(A.c.type_name, sa.func.sum(B.c.size))
            .select_from(A.join(B, B.c.artifact_id == A.c.id)
                         .join(L, L.c.blob_id == B.c.id))
            .where(A.c.owner == project_id, A.c.deleted == sa.false(),
                   B.c.slot.is_not(None), B.c.status == "active",
                   B.c.external == sa.false(), L.c.status != "deleted",
                   quota_usage.not_staged(A.c.type_name, B.c.field))
            .group_by(A.c.type_name))}

    def reserved(self, conn, project_id, exclude=None):
        """{type_name: bytes reserved by live uploads} (``exclude``: a
        reservation id left out, the caller's own)."""
        query = (sa.select(R.c.type_name, sa.func.sum(R.c.bytes))
                 .where(R.c.project_id == project_id,
                        R.c.expires_at > db_clock(self.dialect))
                 .group_by(R.c.type_name))
        if exclude is not None:
            query = query.where(R.c.id != exclude)
        return {t: int(n or 0) for t, n in conn.execute(query)}

    def used(self, conn, project_id, names=NAMES):
        """{name: {type_name: usage}} of the given quotas of a project."""
        measure = {"artifact_count": self.counts,
                   "stored_bytes": self.stored,
                   "uploading_bytes": self.reserved,
                   "staged_bytes": quota_usage.staged,
                   "uploading_count": quota_usage.uploading}
        return {name: measure[name](conn, project_id) for name in names}

    # ------------------------------------------------------------ the guard

    def _guard(self, conn, project_id):
        """Serialize this transaction with every other quota decision of
        the project (held until the transaction ends)."""
        bump = G.update().where(G.c.project_id == project_id).values(
            serial=G.c.serial + 1)
        if conn.execute(bump).rowcount == 1:
            return
        conn.execute(_insert_ignore(conn, G, project_id=project_id,
                                    serial=0))
        if conn.execute(bump).rowcount != 1:
            raise AssertionError("quota guard row of %s missing"
                                 % project_id)

    # --------------------------------------------------------------- create

    def check_create(self, conn, atype, project_id):
        """Inside the transaction that inserts an artifact of ``atype`` for
        ``project_id``: refuse it (413) if the project is at its
        ``artifact_count``.  The guard is held until that transaction
        commits, so concurrent creates are counted one after another."""
        self._check_count(conn, atype, project_id, "artifact_count",
                          self.counts, 1)

    def check_uploading(self, conn, atype, project_id):
        """Inside the transaction that claims an upload, a staging or an
        import of an artifact of ``project_id`` (after the claim, so the
        artifact counts itself, as Glance counts the image it has just
        set to ``saving``): refuse it (413) if the project then has more
        artifacts with data on its way than its ``uploading_count``."""
        # Glance's figures: the usage with this one, requested 0.
        self._check_count(conn, atype, project_id, "uploading_count",
                          quota_usage.uploading, 0)

    def _check_count(self, conn, atype, project_id, name, count, requested):
        """Refuse (413) when ``count(conn, project_id)`` ({type_name:
        number}) plus ``requested`` passes a ``name`` limit of
        ``project_id`` that binds ``atype``.  When one may bind, the
        project's guard is taken (held until the transaction ends) and
        the limits read again under it."""
        if project_id is None:
            return
        names = (name,)
        if not self.binding(conn, project_id, atype.name, names):
            return
        self._guard(conn, project_id)
        # Read again under the guard: a quota change may have committed.
        limits = self.binding(conn, project_id, atype.name, names)
        counts = count(conn, project_id) if limits else {}
        for limit in limits:
            used = _in_scope(counts, limit.type_name)
            if used + requested > limit.value:
                raise _exceeded(limit.name, project_id, limit.type_name,
                                limit.value, used, requested)

    # -------------------------------------------------------------- uploads

    def meter(self, atype, artifact, staging=False):
        """The ``Meter`` of an upload into ``artifact`` (``NO_METER`` when
        no byte quota applies); ``staging``: the data goes to staging and
        counts as ``staged_bytes``, not ``stored_bytes``.  Call it inside
        a method decorated with ``releases_reservations``."""
        project_id = artifact.get("owner")
        if project_id is None:
            return NO_METER
        names = STAGING_NAMES if staging else BYTE_NAMES
        limits = read(self.db, lambda conn: self.binding(
            conn, project_id, atype.name, names))
        if not limits:
            return NO_METER
        meter = Meter(self, project_id, atype.name, artifact["id"])
        meter.names = names
        scope = _METERS.get()
        if scope is None:
            LOG.warning("Upload meter outside releases_reservations: its "
                        "reservation is left to expire")
        else:
            scope.append(meter)
        return meter

    def _reserve(self, conn, meter, total):
        """Grow ``meter``'s reservation to cover ``total`` bytes or raise
        ``RequestTooLarge``; returns (reservation id, bytes reserved)."""
        project_id, type_name = meter.project_id, meter.type_name
        _no_flush_wait(conn)
        self._guard(conn, project_id)
        now = db_clock(self.dialect)
        conn.execute(R.delete().where(R.c.project_id == project_id,
                                      R.c.expires_at <= now))
        limits = self.binding(conn, project_id, type_name, meter.names)
        others = self.reserved(conn, project_id, exclude=meter.id)
        kept = {}                 # what stays besides the reservations
        staging = {}
        if any(limit.name == "stored_bytes" for limit in limits):
            kept["stored_bytes"] = self.stored(conn, project_id)
        if any(limit.name == "staged_bytes" for limit in limits):
            # Staged data, and only the other uploads into staging.
            kept["staged_bytes"] = quota_usage.staged(conn, project_id)
            staging = quota_usage.staging_reserved(
                conn, self.dialect, project_id, exclude=meter.id)
        room = None
        for limit in limits:
            scope = limit.type_name or ALL_TYPES
            used = _in_scope(staging if limit.name == "staged_bytes"
                             else others, scope)
            used += _in_scope(kept.get(limit.name, {}), scope)
            free = limit.value - used
            if total > free:
                raise _exceeded(limit.name, project_id, limit.type_name,
                                limit.value, used, total)
            room = free if room is None else min(room, free)
        step = max(self.min_step, total // STEP_FRACTION)
        if room is not None:
            # Close to the limit take half of what is left, not a full
            # step, so that concurrent uploads can share the rest.
            step = min(step, (room - total) // 2)
        grant = total + step
        expires = db_clock(self.dialect, self.reservation_seconds)
        if meter.id is not None and conn.execute(
                R.update().where(R.c.id == meter.id).values(
                    bytes=grant, expires_at=expires)).rowcount == 1:
            return meter.id, grant
        result = conn.execute(R.insert().values(
            project_id=project_id, type_name=type_name,
            artifact_id=meter.artifact_id, bytes=grant, expires_at=expires,
            owner=instance.current()))
        return result.inserted_primary_key[0], grant

    def check_not_over(self, conn, atype, project_id):
        """Refuse (413) work that adds stored bytes to a project already
        over a ``stored_bytes`` limit (stored bytes and live reservations
        together), as Glance refuses an import while the project's
        image_size_total is over its limit.  A project exactly at its
        limit passes: the work itself is metered."""
        if project_id is None:
            return
        limits = self.binding(conn, project_id, atype.name,
                              ("stored_bytes",))
        if not limits:
            return
        stored = self.stored(conn, project_id)
        reserved = self.reserved(conn, project_id)
        for limit in limits:
            used = _in_scope(stored, limit.type_name) + \
                _in_scope(reserved, limit.type_name)
            if used > limit.value:
                raise _exceeded(limit.name, project_id, limit.type_name,
                                limit.value, used, 0)

    def _recheck_stored(self, conn, meter, unmetered):
        """Inside the transaction that makes ``meter``'s data active (and
        ``unmetered`` more bytes): refuse it if the project's stored bytes
        (this transaction's included) and the other uploads' reservations
        pass a ``stored_bytes`` limit."""
        project_id = meter.project_id
        self._guard(conn, project_id)
        limits = self.binding(conn, project_id, meter.type_name,
                              ("stored_bytes",))
        if not limits:
            return
        stored = self.stored(conn, project_id)
        others = self.reserved(conn, project_id, exclude=meter.id)
        added = meter.total + unmetered
        for limit in limits:
            used = _in_scope(stored, limit.type_name) + \
                _in_scope(others, limit.type_name)
            if used > limit.value:
                raise _exceeded(limit.name, project_id, limit.type_name,
                                limit.value, max(used - added, 0), added)

    def purge_expired(self):
        """Delete reservations of uploads that died (for ``glare scrub``);
        they already stopped counting when they expired."""
        now = db_clock(self.dialect)
        return transaction(self.db, lambda conn: conn.execute(
            R.delete().where(R.c.expires_at <= now)).rowcount)


def _no_flush_wait(conn):
    """Reservations are ephemeral (a database crash ends every upload, and
    a lost reservation only makes a quota more lenient until the next
    step), so their commits need not wait for the WAL flush: on
    PostgreSQL that wait is most of a step's cost.  Locks and visibility
    are unchanged.  (SQLite in WAL mode with synchronous=NORMAL already
    commits without a flush; MariaDB has no per-transaction switch.)"""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _in_scope(by_type, type_name):
    if type_name == ALL_TYPES:
        return sum(by_type.values())
    return by_type.get(type_name, 0)


def _insert_ignore(conn, table, **values):
    """INSERT that does nothing if the primary key exists (and waits for a
    concurrent inserter of that key to finish)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
        return insert(table).values(**values).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
        return insert(table).values(**values).on_conflict_do_nothing()
    return table.insert().values(**values).prefix_with("IGNORE")
