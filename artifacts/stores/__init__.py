"""Blob stores: one declared driver interface, a registry by name, a checking
wrapper every caller gets, and one test-suite.

Modelled on Docker distribution's storage drivers.  A driver knows how to
keep bytes under a *key* and read them back by *location*; it knows nothing
about artifacts, hashes or quotas (those wrap the stream in
``artifacts.stores.streaming``).

* ``StoreDriver`` / ``Writer`` / ``Reader`` (below) declare the interface as
  ``typing.Protocol`` classes; their docstrings are the contract.
* ``register(kind, factory)`` and ``create(kind, name, options)`` are the
  factory by name.  ``create`` wraps every driver in
  ``base.CheckedStore``, which validates inputs once for every driver (keys,
  locations, byte ranges, read-only refusals) and turns unexpected driver
  exceptions into ``errors.StoreUnavailable`` naming the store.
* ``owner_of(stores, location)`` finds the store a location belongs to.
* ``Discarding``: ``discard(key)`` removes a key's data whether committed or
  left half-written by a writer that died (crash recovery).

Built-in kinds: ``filesystem``, ``database``, ``s3`` (writable), ``http``
(read-only, Glance's http store) and ``foreign`` (read-only placeholder for
locations of stores Glare has no driver for: rbd, swift, cinder, vsphere).
"""

import errno
import logging
import re
from typing import Mapping, Optional, Protocol, runtime_checkable

from artifacts import errors

_DRIVERS = {}

MAX_KEY_LENGTH = 1024
MAX_KEY_DEPTH = 32
# Longest location accepted by any store: far above any real URL (a
# file:// path is at most PATH_MAX = 4096), small enough that a location
# read from the database can never be used to push megabytes into a driver.
MAX_LOCATION_LENGTH = 8192
_SEGMENT = re.compile(r"^[^/\x00]+$")


# -- the interface ---------------------------------------------------------

@runtime_checkable
class Writer(Protocol):
    """Writes one new object; returned by ``StoreDriver.writer(key)``.

    Data becomes visible only at ``commit()``.  A writer that is cancelled,
    whose ``commit()`` failed, that is left in a ``with`` block without
    ``commit()`` or that is dropped unfinished leaves nothing under the key
    (``WriterLifecycle`` gives drivers the last two).  ``commit()`` never
    replaces an existing object: ``errors.Conflict``.  Not thread safe: one
    upload, one writer."""

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (any bytes-like object)."""

    def commit(self) -> str:
        """Make the data visible and return its location URL.  On failure
        the writer is finished and nothing is left behind."""

    def cancel(self) -> None:
        """Discard everything written; idempotent, harmless after
        ``commit()``."""

    def __enter__(self) -> "Writer":
        ...

    def __exit__(self, exc_type, exc, tb) -> bool:
        """Cancels an uncommitted writer."""

    # Optional: a writer whose partial data its key alone may not find
    # again (S3: a multipart upload) has a ``note`` attribute, None or a
    # callable its user sets before the first write (``set_note``); the
    # writer calls ``note(detail)`` (a string) before it sends data that
    # needs it, and ``discard(key, detail)`` gets it back after a crash.
    # A ``note`` that fails fails the write.


@runtime_checkable
class Reader(Protocol):
    """Reads ``length`` bytes of one stored object from ``offset``; returned
    by ``StoreDriver.open``.

    ``size`` is the whole object's size, ``length`` the bytes this reader
    returns (the requested range clamped at the end) -- never more.  Data
    that ends early is ``errors.StoreUnavailable``, not a short body.
    Iterating yields blocks.  A reader over a real file also has
    ``fileno()``, positioned at ``offset``, so the WSGI server can use
    sendfile."""

    size: int
    length: int

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all remaining for -1/None); ``b""`` at the
        end of the range."""

    def close(self) -> None:
        """Release the file, connection or cursor; idempotent."""


@runtime_checkable
class StoreDriver(Protocol):
    """What every store driver provides (``filesystem.FilesystemStore`` is
    the reference).  Callers get drivers through ``create()``, i.e. wrapped
    in ``base.CheckedStore``, which checks arguments before a driver sees
    them, so drivers may assume: keys passed ``check_key``; locations are
    non-empty ``str`` without NUL and at most ``MAX_LOCATION_LENGTH`` long;
    ``offset`` is an ``int`` >= 0 and ``length`` ``None`` or an ``int``
    >= 0; ``writer`` is never called on a read-only store, nor ``delete``
    unless the driver sets ``delete_leaves_data`` (see ``foreign``).

    Errors are ``artifacts.errors`` exceptions: ``Invalid`` for a malformed
    location, ``Forbidden`` for one outside the store's reach,
    ``NotFound`` for absent data, ``RangeNotSatisfiable``, ``Conflict``,
    ``RequestTooLarge`` (full storage), ``StoreUnavailable`` for anything
    the store itself failed at.  Anything else is a driver bug; the wrapper
    logs it and reports ``StoreUnavailable``.
    """

    #: The configured store id (``[store:<id>]``, Glance's store id).
    name: str
    #: URL scheme of the locations the store writes.
    scheme: str
    #: True for a store that can be read but never written to or deleted
    #: from (http, foreign, a filesystem store over an old Glance datadir).
    read_only: bool

    def writer(self, key: str) -> Writer:
        """A ``Writer`` for a new object under ``key``."""

    def open(self, location: str, offset: int = 0,
             length: Optional[int] = None) -> Reader:
        """A ``Reader`` for ``length`` bytes (default: to the end) from
        ``offset``.  ``offset > size`` is ``RangeNotSatisfiable``;
        ``offset == size`` gives an empty reader (so a zero-byte object
        opens like any other; whether a Range at the end is a 416 is the
        HTTP face's decision)."""

    def delete(self, location: str) -> Optional[bool]:
        """Remove the object; absent data is not an error.  ``None`` or
        ``True``: the data is gone; ``False``: it was deliberately left in
        place (a store Glare cannot delete from).  The wrapper normalises
        this to ``True``/``False``."""

    def exists(self, location: str) -> bool:
        """Whether committed data is at ``location``."""

    def describe(self) -> dict:
        """Facts for ``/info/stores/detail`` and logs, never credentials;
        ``"id"`` is ``name``."""

    def owns(self, location: str) -> bool:
        """Whether ``location`` belongs to this store (it would open it
        rather than refuse it as another store's).  Never raises for a
        malformed location: that is simply not owned."""

    def location_for(self, key: str) -> str:
        """The location an object under ``key`` has (or would have);
        ``Forbidden`` for a store without keys (read-only kinds)."""


@runtime_checkable
class Discarding(Protocol):
    """What a writable driver adds so that interrupted writes can always
    be cleaned up (filesystem, database and s3 do; the wrapper falls back
    to ``delete(location_for(key))`` for a driver without it, which
    removes committed data only)."""

    def discard(self, key: str) -> None:
        """Remove everything stored under ``key``: committed data and the
        partial data of writers of ``key``, including one whose process
        died without cancelling (a driver whose writers note details takes
        the noted one as a second argument).  Absent data is not an error.  May be
        called while a writer of ``key`` is still running: that writer's
        commit then fails (``StoreUnavailable``) and leaves nothing."""


def set_note(writer, note):
    """Give ``writer`` the ``note`` callable if it notes details (see
    ``Writer``); a no-op for writers that note nothing."""
    if note is not None and hasattr(writer, "note"):
        writer.note = note
    return writer


def register(kind, factory):
    """Register ``factory(name, options) -> StoreDriver`` under a driver
    kind."""
    _DRIVERS[kind] = factory


def create(kind, name, options):
    """Build a store by driver kind (``filesystem``, ``s3``, ``database``,
    ``http``, ``foreign`` or any registered one) with its options, wrapped
    in ``base.CheckedStore``: every caller gets the checked store."""
    from artifacts.stores.base import CheckedStore

    _load_builtin()
    try:
        factory = _DRIVERS[kind]
    except KeyError:
        raise errors.Invalid(
            "Unknown store driver %r; known drivers: %s"
            % (kind, ", ".join(sorted(_DRIVERS))))
    driver = factory(name, options)
    if isinstance(driver, CheckedStore):
        return driver
    missing = [member for member in _MEMBERS if not hasattr(driver, member)]
    if missing:
        raise errors.Invalid(
            "Store driver %r (store %r) does not implement the store "
            "interface: missing %s." % (kind, name, ", ".join(missing)))
    return CheckedStore(driver)


_MEMBERS = ("name", "scheme", "read_only", "writer", "open", "delete",
            "exists", "describe", "owns", "location_for")


def owner_of(stores, location):
    """The store among ``stores`` (an iterable of stores, or a dict of
    them by id) that owns ``location``, or ``None``; the first one wins
    when several do."""
    if isinstance(stores, Mapping):
        stores = stores.values()
    for store in stores:
        if store.owns(location):
            return store
    return None


def check_location(location, store_name=None):
    """The one shape rule for locations given to any store: a non-empty
    ``str`` without NUL, at most ``MAX_LOCATION_LENGTH`` characters.  The
    location itself is never echoed (it may carry credentials).  Raises
    ``errors.Invalid``."""
    where = " for store %r" % store_name if store_name else ""
    if not isinstance(location, str) or not location:
        raise errors.Invalid("A data location%s must be a non-empty string "
                             "(got %s)." % (where, type(location).__name__))
    if len(location) > MAX_LOCATION_LENGTH:
        raise errors.Invalid("A data location%s is longer than %d "
                             "characters." % (where, MAX_LOCATION_LENGTH))
    if "\x00" in location:
        raise errors.Invalid("A data location%s must not contain NUL."
                             % where)
    return location


def check_range(offset, length):
    """``offset`` an ``int`` >= 0, ``length`` ``None`` or an ``int`` >= 0
    (``bool`` is not a number of bytes).  Raises ``errors.Invalid``."""
    if type(offset) is bool or not isinstance(offset, int) or offset < 0:
        raise errors.Invalid("Byte range offset must be a non-negative "
                             "integer (got %r)." % (offset,))
    if length is not None and (type(length) is bool
                               or not isinstance(length, int) or length < 0):
        raise errors.Invalid("Byte range length must be a non-negative "
                             "integer or absent (got %r)." % (length,))


def scheme_of(location):
    """The lower-cased scheme of a URL (``"s3+https"``), or ``""``."""
    if not isinstance(location, str):
        return ""
    scheme, sep, _ = location.partition("://")
    if not sep or not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", scheme):
        return ""
    return scheme.lower()


def redact(location):
    """A location safe to show or log: userinfo (``user:secret@``) of a
    URL replaced by ``***@``.  Glance's s3 and swift locations carry
    credentials there; a secret may itself contain ``/``, so everything up
    to the last ``@`` before the path's bucket/object part is dropped."""
    if not isinstance(location, str):
        return repr(location)
    scheme = scheme_of(location)
    if not scheme or scheme == "file":
        return location
    rest = location[len(scheme) + 3:]
    if "@" not in rest:
        return location
    return "%s://***@%s" % (location[:len(scheme)], rest.rpartition("@")[2])


def is_space_error(exc):
    """True for an ``OSError`` saying the storage is full (ENOSPC/EDQUOT,
    and EFBIG as glance_store counts it); every store answers it with
    ``RequestTooLarge`` (Glance's 413)."""
    return isinstance(exc, OSError) and exc.errno in (
        errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC))


# glance_store's StorageFull message, which Glance puts after "Image storage
# media is full: " in its 413 for an upload and for staging.
STORAGE_FULL = "There is not enough disk space on the image storage media."


def storage_full(detail=None):
    """The ``RequestTooLarge`` for full storage, worded as Glance's (the
    system's own ``detail``, e.g. "No space left on device", is logged,
    not shown)."""
    if detail:
        logging.getLogger(__name__).error("Storage full: %s", detail)
    return errors.RequestTooLarge(
        "Image storage media is full: %s" % STORAGE_FULL)


def check_key(key):
    """The one path rule for every driver: relative, no '.'/'..', no NUL,
    bounded length and depth.  Raises ``errors.Invalid``."""
    if not isinstance(key, str) or not key:
        raise errors.Invalid("Blob path must be a non-empty string.")
    if len(key) > MAX_KEY_LENGTH:
        raise errors.Invalid(
            "Blob path is longer than %d characters." % MAX_KEY_LENGTH)
    if key.startswith("/") or key.endswith("/"):
        raise errors.Invalid(
            "Blob path %r must be relative and must not end with '/'." % key)
    parts = key.split("/")
    if len(parts) > MAX_KEY_DEPTH:
        raise errors.Invalid(
            "Blob path %r is deeper than %d levels." % (key, MAX_KEY_DEPTH))
    for part in parts:
        if part in (".", "..") or not _SEGMENT.match(part):
            raise errors.Invalid(
                "Blob path %r has an invalid segment %r (empty, '.', '..' "
                "and NUL are not allowed)." % (key, part))
    return key


def option_bool(value, default=False):
    """A boolean store option given as bool or string ("true", "1" ...)."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


# Built-in drivers whose module is imported only when a store of that kind
# is created, so their dependencies (boto3 for s3) are needed only then.
_LAZY_BUILTIN = {
    "s3": ("artifacts.stores.s3", "glare[s3]"),
    "database": ("artifacts.stores.database", None),
    # requests is a core dependency, but the module is still loaded only
    # when an http store is configured.
    "http": ("artifacts.stores.http", None),
    "foreign": ("artifacts.stores.foreign", None),
}


def _lazy_factory(kind, module, extra):
    def factory(name, options):
        import importlib

        try:
            importlib.import_module(module)  # registers the real factory
        except ImportError as exc:
            raise errors.Invalid(
                "Store %r of kind %r cannot be used: %s%s"
                % (name, kind, exc,
                   "; install %s" % extra if extra else ""))
        real = _DRIVERS[kind]
        if real is factory:
            raise errors.Invalid("Store driver %r did not register." % kind)
        return real(name, options)
    return factory


class WriterLifecycle:
    """What every driver's writer shares: leaving a ``with`` block cancels
    an uncommitted writer, and so does dropping it unfinished (no temp
    file, part or row is left behind).  Subclasses set ``_done`` once
    committed or cancelled and implement ``cancel()``."""

    _done = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cancel()
        return False

    def __del__(self):
        if getattr(self, "_done", True):
            return
        try:
            self.cancel()
        except Exception:  # noqa: BLE001 - nothing to report it to here
            pass


class ReaderLifecycle:
    """What every driver's reader shares: ``close()`` once (then reads
    are a ``ValueError``), ``closed``, ``with`` blocks, closing when
    dropped, and iteration in ``block_size`` blocks.  Subclasses release
    their resource in ``_release()``."""

    _closed = False

    def _release(self):
        """Free the file, response or rows behind the reader."""

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._release()

    @property
    def closed(self):
        return self._closed

    def _check_open(self):
        if self._closed:
            raise ValueError("I/O operation on a closed reader")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing to report it to here
            pass

    def __iter__(self):
        while True:
            block = self.read(self.block_size)
            if not block:
                return
            yield block


class BoundedReader(ReaderLifecycle):
    """``read(n)`` and iteration over exactly ``length`` bytes of an object.

    Subclasses set ``length``, ``block_size`` and ``_remaining`` and provide
    ``_raw(want)`` (up to ``want`` bytes, ``b""`` at the end of the data).
    Data ending before ``length`` is an error, not a silently short body;
    ``_discard(count)`` skips bytes of a stream that cannot seek."""

    def read(self, n=-1):
        """Up to ``n`` bytes (all remaining if ``n`` is negative or None);
        ``b""`` once ``length`` bytes were returned."""
        self._check_open()
        want = self._remaining if n is None or n < 0 else min(
            n, self._remaining)
        if want <= 0:
            return b""
        data = self._raw(want)
        if not data:
            self._truncated()
        if len(data) < want:
            parts, got = [data], len(data)
            while got < want:
                part = self._raw(want - got)
                if not part:
                    self._truncated()
                parts.append(part)
                got += len(part)
            data = b"".join(parts)
        self._remaining -= len(data)
        return data

    def _truncated(self):
        # Objects are immutable once committed: data that ends early was
        # damaged or removed underneath us.
        raise errors.StoreUnavailable(
            "Stored data ended %d bytes early." % self._remaining)

    def _discard(self, count):
        while count:
            data = self._raw(min(count, self.block_size))
            if not data:
                self._truncated()
            count -= len(data)



def _load_builtin():
    if "filesystem" not in _DRIVERS:
        from artifacts.stores import filesystem  # noqa: F401  (registers)
    for kind, (module, extra) in _LAZY_BUILTIN.items():
        if kind not in _DRIVERS:
            _DRIVERS[kind] = _lazy_factory(kind, module, extra)
