"""Blob stores: one small driver interface, a registry by name, one test-suite.

Modelled on Docker distribution's storage drivers.  A driver knows how to
keep bytes under a *key*; it knows nothing about artifacts, hashes or quotas
(those wrap the stream in ``artifacts.stores.streaming``).

Driver interface (plain duck typing; see ``filesystem.FilesystemStore``)::

    store.name                      -> str, the configured store id
    store.scheme                    -> str, URL scheme of its locations
    store.writer(key)               -> Writer
        writer.write(chunk: bytes)  -> None
        writer.commit()             -> str  location URL; data visible from now on
        writer.cancel()             -> None  discards everything written
    store.open(location, offset=0, length=None) -> Reader
        reader.read(n) / reader.close(); ``reader.fileno()`` when the data is a
        real file positioned at ``offset`` (lets the WSGI server use sendfile)
        reader.size                 -> total size of the stored object
        reader.length               -> bytes this reader returns (the range
                                       clamped at the end); never more
        offset > size raises RangeNotSatisfiable; offset == size gives an
        empty reader (so zero-byte objects open like any other) -- whether
        an HTTP Range at the end is a 416 is the HTTP face's decision.
        Negative offset or length raise Invalid.
    store.delete(location)          -> None  (absent data is not an error)
    store.exists(location)          -> bool
    store.describe()                -> dict  (for /info/stores/detail and logs)

Data written through a Writer becomes visible only at ``commit()``; a writer
that is cancelled or abandoned leaves nothing under the key, and ``commit()``
never replaces an existing object (``errors.Conflict``).  Keys are checked
by ``check_key`` here, once, for every driver.
"""

import re

from artifacts import errors

_DRIVERS = {}

MAX_KEY_LENGTH = 1024
MAX_KEY_DEPTH = 32
_SEGMENT = re.compile(r"^[^/\x00]+$")


def register(kind, factory):
    """Register ``factory(name, options) -> store`` under a driver kind."""
    _DRIVERS[kind] = factory


def create(kind, name, options):
    """Build a store by driver kind (``filesystem``, ``s3``, ``database``,
    or any registered one) with its options."""
    _load_builtin()
    try:
        factory = _DRIVERS[kind]
    except KeyError:
        raise errors.Invalid(
            "Unknown store driver %r; known drivers: %s"
            % (kind, ", ".join(sorted(_DRIVERS))))
    return factory(name, options)


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


# Built-in drivers whose module is imported only when a store of that kind
# is created, so their dependencies (boto3 for s3) are needed only then.
_LAZY_BUILTIN = {
    "s3": ("artifacts.stores.s3", "glare[s3]"),
    "database": ("artifacts.stores.database", None),
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


class BoundedReader:
    """``read(n)`` and iteration over exactly ``length`` bytes of an object.

    Subclasses set ``length``, ``block_size`` and ``_remaining`` and provide
    ``_raw(want)`` (up to ``want`` bytes, ``b""`` at the end of the data)
    and ``_check_open()``.  Data ending before ``length`` is an error, not a
    silently short body."""

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

    def __iter__(self):
        while True:
            block = self.read(self.block_size)
            if not block:
                return
            yield block


def _load_builtin():
    if "filesystem" not in _DRIVERS:
        from artifacts.stores import filesystem  # noqa: F401  (registers)
    for kind, (module, extra) in _LAZY_BUILTIN.items():
        if kind not in _DRIVERS:
            _DRIVERS[kind] = _lazy_factory(kind, module, extra)
