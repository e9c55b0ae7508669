"""Foreign store: locations of stores Glare has no driver for.

A Glance migrated into Glare may have image data in Ceph (``rbd://``),
Swift (``swift://``, ``swift+https://``, ``swift+http://``,
``swift+config://``), Cinder (``cinder://``) or VMware (``vsphere://``).
Glare cannot read or delete that data, but its locations must still belong
to *some* configured store, so that the image keeps its location, the API
can say where the data is, and a read fails with a message a person can act
on instead of "unknown location".

Configured as ``{"schemes": ["rbd"]}``; ``owns()`` is true for locations of
those schemes.  The store is read-only.  ``open()`` and ``exists()`` raise
``StoreUnavailable`` naming the store and the scheme -- never the location
itself, which for swift carries credentials.  ``delete()`` leaves the data
where it is and returns ``False`` (see its docstring).
"""

import logging
import re

from artifacts import errors
from artifacts.stores import redact, register, scheme_of

LOG = logging.getLogger(__name__)

# Glance's store schemes Glare has no native driver for.
KNOWN_SCHEMES = ("rbd", "swift", "swift+https", "swift+http", "swift+config",
                 "cinder", "vsphere", "sheepdog")
# Served by Glare's own drivers: a foreign store must not claim them.
NATIVE_SCHEMES = ("file", "s3", "s3+http", "s3+https", "http", "https",
                  "glare-db")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


class ForeignStore:
    """Claims the locations of other storage systems; see the module
    docstring."""

    read_only = True
    #: ``delete()`` is a deliberate, logged no-op: the checking wrapper
    #: calls it instead of refusing the delete as on other read-only stores.
    delete_leaves_data = True

    def __init__(self, name, options):
        self.name = name
        schemes = (options or {}).get("schemes")
        if isinstance(schemes, str):
            schemes = [part.strip() for part in schemes.split(",")]
        if not schemes or not isinstance(schemes, (list, tuple)):
            raise errors.Invalid(
                "Foreign store %r needs a 'schemes' option: the URL schemes "
                "it stands for (e.g. %s)." % (name, ", ".join(KNOWN_SCHEMES)))
        cleaned = []
        for scheme in schemes:
            if not isinstance(scheme, str) or not _SCHEME.match(
                    scheme.lower()):
                raise errors.Invalid("Foreign store %r: %r is not a URL "
                                     "scheme." % (name, scheme))
            scheme = scheme.lower()
            if scheme in NATIVE_SCHEMES:
                raise errors.Invalid(
                    "Foreign store %r: %s:// locations are read by Glare's "
                    "own drivers; configure a store of that kind instead."
                    % (name, scheme))
            cleaned.append(scheme)
        self.schemes = tuple(dict.fromkeys(cleaned))
        self.scheme = self.schemes[0]

    def owns(self, location):
        return scheme_of(location) in self.schemes

    def _unreadable(self, location):
        scheme = scheme_of(location)
        if scheme not in self.schemes:
            raise errors.Invalid(
                "Location is not one of store %r's (%s)."
                % (self.name, ", ".join(s + "://" for s in self.schemes)))
        return errors.StoreUnavailable(
            "Image data in store %r (%s://...) cannot be read by this "
            "Glare: no %s driver is installed." % (self.name, scheme, scheme))

    def open(self, location, offset=0, length=None):
        raise self._unreadable(location)

    def exists(self, location):
        raise self._unreadable(location)

    def delete(self, location):
        """Leave the data in place, log it, and return ``False``.

        Glare cannot reach this storage, so it cannot delete there.
        Raising would make every delete of an image that has such a
        location fail, and a scrubber retrying a delete that can never
        succeed would retry forever; pretending (returning ``True``) would
        tell the operator the data is gone when it is not.  ``False`` says
        exactly what happened, and the warning names the location (without
        credentials) so an operator can remove it with that system's
        tools."""
        scheme = scheme_of(location)
        if scheme not in self.schemes:
            raise self._unreadable(location)
        LOG.warning("Store %r: data at %s is left in the %s storage: this "
                    "Glare has no %s driver to delete it with.", self.name,
                    redact(location), scheme, scheme)
        return False

    def writer(self, key):
        raise errors.Forbidden("Store %r is read-only (it stands for %s "
                               "data Glare cannot reach)."
                               % (self.name, ", ".join(self.schemes)))

    def location_for(self, key):
        raise errors.Forbidden("Store %r is read-only: it has no keys to "
                               "write under." % self.name)

    def describe(self):
        return {"id": self.name, "kind": "foreign", "scheme": self.scheme,
                "schemes": list(self.schemes), "read_only": True,
                "readable": False}

    def __repr__(self):
        return "ForeignStore(%r, schemes=%r)" % (self.name, self.schemes)


register("foreign", ForeignStore)
