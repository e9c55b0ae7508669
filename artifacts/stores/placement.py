"""Where data goes and where it is read from: the configured stores.

``StoreSet`` is every configured store and the rules that pick one for new
data; ``open_locations`` reads a blob from the first of its locations that
opens (store weight first), and ``Download`` is what the engine hands a
face so that it never calls a driver itself.
"""

import dataclasses
import logging

from artifacts import errors

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class StoreSet:
    """The configured stores and the rules that pick one.

    ``drivers``: store id -> driver, in configuration order; ``default``:
    the id new data goes to unless a type (``type_stores``, ``TYPE`` or
    ``TYPE.FIELD``) or the request names another; ``weights``: id -> read
    preference (higher first, as Glance's ``weight``); ``descriptions``:
    id -> what the operator wrote about it; ``staging`` and ``tasks``: the
    drivers of the reserved stores for data waiting for an import and for
    task data (None: staging goes to the default store), which requests
    cannot name."""

    drivers: dict
    default: str
    weights: dict = dataclasses.field(default_factory=dict)
    type_stores: dict = dataclasses.field(default_factory=dict)
    descriptions: dict = dataclasses.field(default_factory=dict)
    staging: object = None
    tasks: object = None

    @property
    def default_driver(self):
        return self.drivers[self.default]

    def driver(self, store_id):
        try:
            return self.drivers[store_id]
        except KeyError:
            if self.staging is not None and store_id == self.staging.name:
                return self.staging
            raise errors.StoreUnavailable(
                "The data is in store '%s', which is not configured here."
                % store_id)

    def writable(self):
        return [i for i, d in self.drivers.items() if not d.read_only]

    def for_new(self, atype, field, requested=None, staging=False):
        """The driver new data of ``atype.field`` goes to."""
        if requested is not None:
            if requested not in self.drivers:
                raise errors.Invalid(
                    "Store '%s' is not one of the configured stores: %s."
                    % (requested, ", ".join(self.drivers)))
            if requested not in self.writable():
                raise errors.Invalid("Store '%s' is read-only." % requested)
            return self.drivers[requested]
        if staging and self.staging is not None:
            return self.staging
        store_id = self.type_stores.get("%s.%s" % (atype.name, field)) \
            or self.type_stores.get(atype.name) or self.default
        return self.drivers[store_id]

    def owner_of(self, url):
        """The id of the store whose driver owns ``url``, or None."""
        for store_id, drv in self.drivers.items():
            if drv.owns(url):
                return store_id
        return None

    def read_order(self, locations):
        """Locations in the order reads try them: higher store weight
        first, then their own order."""
        indexed = list(enumerate(locations))
        indexed.sort(key=lambda p: (-self.weights.get(p[1]["store"], 0),
                                    p[0]))
        return [loc for _, loc in indexed]


@dataclasses.dataclass
class Download:
    """What a face needs to send a blob's data: its size and digests, and
    ``read(offset, length)`` which opens the first readable location."""

    artifact: dict
    blob: dict | None
    stores: StoreSet = dataclasses.field(repr=False, default=None)
    # Store ids whose locations are tried first (a client's preference).
    prefer: tuple = ()

    @property
    def external_url(self):
        """The URL a download redirects to, for external blobs."""
        if self.blob and self.blob["external"] and self.blob["locations"]:
            return self.blob["locations"][0]["url"]
        return None

    def read(self, offset=0, length=None):
        """A reader over [offset, offset+length) from the first location
        that opens; a store error falls through to the next one."""
        return open_locations(self.stores, self.blob, offset, length,
                              prefer=self.prefer)


def open_locations(stores, blob, offset=0, length=None, prefer=()):
    """A reader of ``blob``'s data from the first location that opens
    (those in the stores ``prefer`` names first, each group in the usual
    read order).

    Any store error (unreachable, missing data, a location the store
    refuses) moves on to the next location; a bad range does not (it is
    the same everywhere).  When none opens the error names every store
    tried.  (Glance answers 204 when the data is missing everywhere, which
    clients take for "no data"; a missing image is an error here.)"""
    failures = []
    order = stores.read_order(blob["locations"])
    if prefer:
        order = ([loc for loc in order if loc["store"] in prefer] +
                 [loc for loc in order if loc["store"] not in prefer])
    for loc in order:
        store_id = loc["store"] or stores.owner_of(loc["url"])
        if store_id is None:
            failures.append("%s: no configured store reads it"
                            % _scheme(loc["url"]))
            continue
        try:
            return stores.driver(store_id).open(loc["url"], offset=offset,
                                                length=length)
        except errors.RangeNotSatisfiable:
            raise
        except errors.ArtifactError as exc:
            LOG.warning("Could not read blob %s from store %s: %s",
                        blob["id"], store_id, exc)
            failures.append("store '%s': %s" % (store_id, exc))
    raise errors.StoreUnavailable(
        "The data could not be read from any of its locations (%s)."
        % ("; ".join(failures) or "it has none"))


def _scheme(url):
    return url.split(":", 1)[0] + "://" if ":" in url else repr(url[:20])
