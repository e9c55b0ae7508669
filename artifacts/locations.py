"""Locations a client names, and edits of a blob's list of locations.

Glare writes most locations itself (an upload, a copy: ``artifacts.data``).
A face may also let a client name data that already sits somewhere (the
Image API's PATCH of ``/locations`` and its v2.17 location API,
``artifacts.registration``).  The core's part of that lives here, the same
for every face:

``Locations.resolve(url, trusted, size=None)`` decides whether a URL may
become a location and what it is (``Resolved``: the configured store that
owns it, the size of the data there, whether Glare writes to that store):

* some configured store must own the URL (its scheme and, for a
  filesystem store, a path inside its directory or allowed roots);
* a ``file://`` URL must name its file canonically: no ``.``/``..``
  segments, no symbolic link anywhere in the path, so that one file never
  has two names (removing one image's data must never remove another's);
* an untrusted caller (not an administrator) may name neither data in a
  store Glare writes to (this service's own data, other projects' images)
  nor any ``file://`` data;
* an http(s) URL named by an untrusted caller must pass the external-URL
  policy (``artifacts.external``: no loopback, private or link-local
  address, no denied host) before Glare asks its server anything;
* the store must report data there (size > 0), of ``size`` bytes when the
  blob already has a size.  A store this service cannot read (``foreign``:
  rbd, swift, cinder ...) cannot tell; its URL is taken on trust, its size
  unknown.

A refusal is ``BadLocation`` (an ``Invalid``) whose message says why (it is
logged); a face may answer it in its own words.

``LocationEdit`` is the complete new list of one blob field's locations:
``Kept`` ones (row id, maybe new metadata) and ``Added`` ones (a
``Resolved`` and metadata), plus the system fields the data sets.  A face
computes it inside ``Engine.update``'s mutate function and returns it; the
engine checks it (``Locations.plan``) and writes it with the artifact's
change in one transaction (``Plan.write``), so a refused request changes
nothing; the data of removed locations is deleted after the commit
(``Locations.finish``), except where its store cannot delete (read-only
stores keep their data).  A field without data gets a new blob, and a
field with a data flow (images) moves from its initial status to the
flow's end (``active``).
"""

import dataclasses
import logging
import os

import sqlalchemy as sa

from artifacts import errors, external
from artifacts.data import DIGEST_COLUMNS
from artifacts.db import api as db
from artifacts.db.models import artifact_blobs as B
from artifacts.stores import check_location, redact, scheme_of

LOG = logging.getLogger(__name__)

FILE_PREFIX = "file://"


class BadLocation(errors.Invalid):
    """A URL that cannot become a location (``message`` says why)."""


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A URL ``resolve`` accepted: ``store`` owns it, ``size`` bytes are
    there (None: the store cannot tell), ``managed``: Glare writes to that
    store (its data is deleted with the location)."""

    url: str
    store: str
    size: int | None
    managed: bool


@dataclasses.dataclass(frozen=True)
class Kept:
    """A location the blob keeps: its row ``id`` and its metadata."""

    id: int
    metadata: dict


@dataclasses.dataclass(frozen=True)
class Added:
    """A new location: what ``resolve`` said about its URL, and metadata."""

    resolved: Resolved
    metadata: dict


@dataclasses.dataclass
class LocationEdit:
    """The new list of ``field``'s locations, in order, and what the data
    sets: ``values`` (system fields of the type, e.g. size and checksums),
    ``digests`` (of a new blob: md5/sha1/sha256/sha512 hex), ``status``
    (a field that had no data: its flow's ``checking`` status instead of
    its end status)."""

    field: str
    locations: list
    values: dict = dataclasses.field(default_factory=dict)
    digests: dict = dataclasses.field(default_factory=dict)
    status: str | None = None


@dataclasses.dataclass
class Plan:
    """A checked ``LocationEdit``: what ``write`` does in the update's
    transaction."""

    artifact_id: str
    field: str
    blob: dict | None
    edit: LocationEdit
    removed: list
    size: int | None

    def write(self, conn):
        """Write the new list; returns the removed locations (their data
        is deleted after the commit).  Conflict if the rows changed."""
        managed = [e.resolved.url for e in self.edit.locations
                   if isinstance(e, Added) and e.resolved.managed]
        for url in managed:
            if _in_use(conn, url):
                raise BadLocation("%s is already the data of another "
                                  "location." % redact(url))
        if self.blob is None:
            blob_id = db.insert_blob(conn, self.artifact_id, self.field, dict(
                status="active", size=self.size, external=False,
                **{a: self.edit.digests.get(a) for a in DIGEST_COLUMNS}))
        else:
            blob_id = self.blob["id"]
            mine = [loc["id"] for loc in self.blob["locations"]]
            live = conn.execute(sa.select(sa.func.count()).select_from(
                db.L).where(db.L.c.id.in_(mine),
                            db.L.c.status == "active")).scalar()
            if live != len(mine):
                raise errors.Conflict("The locations of %s changed; try "
                                      "again." % self.artifact_id)
            db.set_location_status(conn, [loc["id"] for loc in self.removed],
                                   "pending_delete", expected="active")
            if self.blob["size"] is None and self.size is not None:
                # Data first named where nobody could size it (a foreign
                # store) now has a location that could.
                conn.execute(B.update().where(B.c.id == blob_id).values(
                    size=self.size, updated_at=db.utcnow()))
        old = {loc["id"]: loc for loc in (self.blob or {}).get(
            "locations", ())}
        for position, entry in enumerate(self.edit.locations):
            if isinstance(entry, Kept):
                db.update_location(conn, entry.id, position=position,
                                   metadata=entry.metadata
                                   if entry.metadata != old[entry.id][
                                       "metadata"] else None)
            else:
                db.insert_location(conn, blob_id, position,
                                   entry.resolved.store, entry.resolved.url,
                                   entry.metadata)
        return self.removed


def _in_use(conn, url):
    """Whether any blob (of any artifact) has, or is still to delete, data
    at ``url``."""
    return conn.execute(sa.select(db.L.c.id).where(
        db.L.c.url == url, db.L.c.status != "deleted").limit(1)).first() \
        is not None


class Locations:
    """URLs clients name, and edits of location lists; see the module
    docstring.  ``engine.locations``."""

    def __init__(self, engine):
        self.engine = engine

    @property
    def stores(self):
        return self.engine.data.stores

    # ------------------------------------------------------------ resolve

    def resolve(self, url, trusted=False, size=None):
        """``Resolved`` for ``url``, or ``BadLocation`` saying why not."""
        try:
            check_location(url)
        except errors.Invalid as exc:
            raise BadLocation(exc.message)
        store_id = self.stores.owner_of(url)
        if store_id is None:
            raise self._refuse(url, "no configured store owns it")
        driver = self.stores.driver(store_id)
        managed = not driver.read_only
        scheme = scheme_of(url)
        if scheme == "file" and not _canonical_file(url):
            raise self._refuse(url, "a file location must name its file "
                                    "by its real path (no '.', '..' or "
                                    "symbolic link)")
        if not trusted and (managed or scheme == "file"):
            raise self._refuse(url, "only an administrator may name data "
                                    "in store '%s'" % store_id)
        if not trusted and scheme in ("http", "https"):
            try:
                external.check_url(url, self.engine.external_policy)
            except errors.Invalid as exc:
                raise self._refuse(url, exc.message)
        found = self._size_at(driver, url)
        if found == 0:
            raise self._refuse(url, "the store has no data there")
        if found is not None and size is not None and found != size:
            raise self._refuse(url, "it holds %d bytes, the data has %d"
                                    % (found, size))
        return Resolved(url=url, store=store_id, size=found, managed=managed)

    @staticmethod
    def _refuse(url, why):
        LOG.info("Location %s refused: %s", redact(url), why)
        return BadLocation("Location %s cannot be used: %s."
                           % (redact(url), why))

    def _size_at(self, driver, url):
        """Bytes at ``url`` (None: the store cannot read it at all)."""
        if driver.describe().get("readable") is False:
            return None
        try:
            reader = driver.open(url, 0, 0)
        except errors.ArtifactError as exc:
            raise self._refuse(url, "store '%s' cannot read it (%s)"
                               % (driver.name, exc.message))
        try:
            return reader.size
        finally:
            reader.close()

    # --------------------------------------------------------------- edit

    def plan(self, atype, old, new, edit):
        """Check ``edit`` of ``old`` (the artifact before the update) and
        put what it implies into ``new``: the data flow's status for a
        field that had no data, the system ``values``.  Returns a
        ``Plan``."""
        fdef = atype.field(edit.field)
        flow = atype.data_flows.get(edit.field)
        if fdef is None or fdef.kind != "blob":
            raise errors.Invalid("%s has no blob field '%s'."
                                 % (atype.name, edit.field))
        blob = next((b for b in old["blobs"] if b["field"] == edit.field
                     and not b["path"] and b["status"] == "active"), None)
        present = {loc["id"]: loc for loc in (blob or {}).get(
            "locations", ())}
        if not edit.locations:
            raise errors.Forbidden("The data must keep at least one "
                                   "location.")
        urls, sizes = [], []
        for entry in edit.locations:
            if isinstance(entry, Kept):
                if entry.id not in present:
                    raise errors.Conflict("Location %s is not one of the "
                                          "data's." % entry.id)
                urls.append(present[entry.id]["url"])
            elif isinstance(entry, Added) and isinstance(entry.resolved,
                                                         Resolved):
                urls.append(entry.resolved.url)
                sizes.append(entry.resolved.size)
            else:
                raise TypeError("a LocationEdit holds Kept and Added "
                                "entries, not %r" % (entry,))
        if len(set(urls)) != len(urls):
            raise BadLocation("A location is listed twice.")
        size = blob["size"] if blob and blob["size"] is not None else next(
            (s for s in sizes if s is not None), None)
        if any(s is not None and size is not None and s != size
               for s in sizes):
            raise BadLocation("The new locations hold different amounts of "
                              "data.")
        if blob is None:
            self._check_first_data(atype, old, new, edit.field, fdef, flow,
                                   edit.status)
        for name, value in edit.values.items():
            field = atype.field(name)
            if field is None or not field.system:
                raise errors.Invalid("'%s' is not a field the data sets."
                                     % name)
            new["properties"][name] = value
        kept = {e.id for e in edit.locations if isinstance(e, Kept)}
        removed = [loc for i, loc in present.items() if i not in kept]
        return Plan(artifact_id=old["id"], field=edit.field, blob=blob,
                    edit=edit, removed=removed, size=size)

    def _check_first_data(self, atype, old, new, field, fdef, flow,
                          status):
        """A field without data gets its first: a data flow moves the
        status from the initial one to its end (or to ``status``, its
        ``checking`` status)."""
        if flow is None:
            if not self.engine.data._writable_status(atype, fdef,
                                                     old["status"]):
                raise errors.Forbidden("Field '%s' cannot change once the "
                                       "%s is %s." % (field, atype.noun,
                                                      old["status"]))
            return
        target = status or flow.to
        if target not in (flow.to, flow.checking) or \
                old["status"] != atype.initial_status or \
                not atype.may_move(old["status"], target):
            raise errors.Conflict("%s status transition from %s to %s is "
                                  "not allowed" % (atype.noun.capitalize(),
                                                   old["status"], target))
        new["status"] = target

    def finish(self, plan):
        """After the commit: delete the data of the removed locations."""
        if plan.removed:
            self.engine.data.remove_locations(plan.blob, plan.removed)


def _canonical_file(url):
    """Whether a file:// URL names an absolute path exactly as the system
    resolves it (no '.', '..', '//', trailing '/' or symbolic link)."""
    path = url[len(FILE_PREFIX):]
    return path.startswith("/") and os.path.realpath(path) == path
