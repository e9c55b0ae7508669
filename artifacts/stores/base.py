"""The checking wrapper every store is handed out in (Docker distribution's
``base`` driver): inputs validated once, for every driver, and driver
failures reported in one vocabulary.

``create()`` wraps each driver in ``CheckedStore``, which

* checks keys (``check_key``) before ``writer()``, locations
  (``check_location``) before ``open``/``delete``/``exists``, and byte
  ranges (``check_range``) before ``open``;
* refuses ``writer()`` and ``delete()`` on a read-only store with
  ``errors.Forbidden`` naming the store -- except ``delete()`` on a driver
  that sets ``delete_leaves_data`` (``foreign``), whose delete is a logged
  no-op by design;
* turns any exception from the driver, its writers and readers that is not
  already an ``artifacts.errors.ArtifactError`` into
  ``errors.StoreUnavailable`` naming the store (the original is logged with
  its traceback; its text, which may hold hosts, paths or credentials, is
  not shown), and a full disk (``OSError`` ENOSPC/EDQUOT) into
  ``RequestTooLarge`` as the filesystem driver always did;
* gives every store ``discard(key)`` (the driver's, or a delete of the
  key's committed location for a driver without one);
* passes every other attribute through to the driver (``fileno()`` of a
  file reader for sendfile, ``cleanup_stale_temp``, ``abort_stale_uploads``,
  ``datadir`` ...).

Using a writer after ``commit()``/``cancel()`` or a reader after
``close()`` is a caller bug and stays a ``ValueError``.
"""

import logging

from artifacts import errors
from artifacts.stores import (ReaderLifecycle, check_key, check_location,
                              check_range, is_space_error, redact,
                              storage_full)


LOG = logging.getLogger(__name__)
DEFAULT_BLOCK_SIZE = 1024 * 1024


def _translate(store_name, doing, exc):
    """The ``ArtifactError`` to raise for ``exc`` raised by a driver."""
    if is_space_error(exc):
        return storage_full(exc.strerror or "no space left")
    LOG.error("Store %r failed to %s: unexpected %s from its driver",
              store_name, doing, type(exc).__name__,
              exc_info=(type(exc), exc, exc.__traceback__))
    return errors.StoreUnavailable(
        "Store %r failed to %s (%s); see the server log."
        % (store_name, doing, type(exc).__name__))


class _Delegating:
    """Attribute pass-through to ``self._inner`` for what is not wrapped."""

    def __getattr__(self, name):
        # Only reached for attributes the wrapper lacks.  Dunders and a
        # half-built wrapper (copy, unpickling) must not recurse.
        inner = self.__dict__.get("_inner")
        if inner is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(inner, name)


def _guarded(store_name, doing, fn, *args):
    """``fn(*args)``, with any failure that is not already an
    ``ArtifactError`` turned into one naming the store (``_translate``)."""
    try:
        return fn(*args)
    except errors.ArtifactError:
        raise
    except Exception as exc:
        raise _translate(store_name, doing, exc) from exc


class CheckedStore(_Delegating):
    """A ``StoreDriver`` around a ``StoreDriver``; see the module
    docstring.  ``driver`` is the wrapped driver."""

    def __init__(self, driver):
        self._inner = driver
        self.driver = driver

    # -- identity ---------------------------------------------------------

    @property
    def name(self):
        return self._inner.name

    @property
    def scheme(self):
        return self._inner.scheme

    @property
    def read_only(self):
        return bool(self._inner.read_only)

    def _call(self, doing, fn, *args):
        return _guarded(self.name, doing, fn, *args)

    def _refuse_if_read_only(self, doing):
        if self.read_only:
            raise errors.Forbidden(
                "Store %r is read-only: it cannot %s.  Write to another "
                "store." % (self.name, doing))

    # -- interface --------------------------------------------------------

    def writer(self, key):
        check_key(key)
        self._refuse_if_read_only("store new data")
        inner = self._call("start an upload", self._inner.writer, key)
        return CheckedWriter(self.name, inner)

    def open(self, location, offset=0, length=None):
        check_location(location, self.name)
        check_range(offset, length)
        inner = self._call("open data", self._inner.open, location, offset,
                           length)
        return CheckedReader(self.name, inner)

    def delete(self, location):
        """``True`` when the data is gone (deleted or absent), ``False``
        when the store deliberately left it in place."""
        check_location(location, self.name)
        if not getattr(self._inner, "delete_leaves_data", False):
            self._refuse_if_read_only("delete data (%s)" % redact(location))
        result = self._call("delete data", self._inner.delete, location)
        return result is not False

    def exists(self, location):
        check_location(location, self.name)
        return bool(self._call("look up data", self._inner.exists, location))

    def discard(self, key, detail=None):
        """Remove the data under ``key``, committed or partial (see
        ``Discarding``; ``detail``: what its writer noted, for a driver
        that notes details); a driver without ``discard`` loses only
        committed data (``delete(location_for(key))``)."""
        check_key(key)
        self._refuse_if_read_only("discard data")
        discard = getattr(self._inner, "discard", None)
        if discard is not None:
            args = (key,) if detail is None else (key, detail)
            self._call("discard data", discard, *args)
            return
        location = self._call("name a location", self._inner.location_for,
                              key)
        self.delete(location)

    def owns(self, location):
        try:
            check_location(location)
        except errors.Invalid:
            return False
        return bool(self._call("check a location", self._inner.owns,
                               location))

    def location_for(self, key):
        check_key(key)
        return self._call("name a location", self._inner.location_for, key)

    def describe(self):
        info = dict(self._call("describe itself", self._inner.describe))
        info.setdefault("id", self.name)
        info.setdefault("read_only", self.read_only)
        return info

    def __repr__(self):
        return "CheckedStore(%r)" % (self._inner,)


class CheckedWriter(_Delegating):
    """A ``Writer`` translating its driver writer's failures."""

    def __init__(self, store_name, inner):
        self._inner = inner
        self._store_name = store_name
        self._finished = False

    def _call(self, doing, fn, *args):
        return _guarded(self._store_name, doing, fn, *args)

    @property
    def note(self):
        """The driver writer's ``note`` (``Writer``); AttributeError for a
        driver whose writers note nothing."""
        return self._inner.note

    @note.setter
    def note(self, value):
        if hasattr(self._inner, "note"):
            self._inner.note = value

    def write(self, chunk):
        if self._finished:
            raise ValueError("write() on a finished writer")
        self._call("store data", self._inner.write, chunk)

    def commit(self):
        if self._finished:
            raise ValueError("commit() on a finished writer")
        # Finished whatever happens: a failed commit cancels (contract).
        self._finished = True
        location = self._call("commit data", self._inner.commit)
        if not isinstance(location, str) or not location:
            raise _translate(self._store_name, "commit data", TypeError(
                "commit() returned %r, not a location" % (location,)))
        return location

    def cancel(self):
        self._finished = True
        self._call("cancel an upload", self._inner.cancel)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cancel()
        return False


class CheckedReader(ReaderLifecycle, _Delegating):
    """A ``Reader`` translating its driver reader's failures; ``fileno``
    and driver specifics pass through."""

    def __init__(self, store_name, inner):
        self._inner = inner
        self._store_name = store_name

    @property
    def size(self):
        return self._inner.size

    @property
    def length(self):
        return self._inner.length

    @property
    def block_size(self):
        return getattr(self._inner, "block_size", None) or DEFAULT_BLOCK_SIZE

    def read(self, n=-1):
        self._check_open()
        return _guarded(self._store_name, "read data", self._inner.read, n)

    def _release(self):
        _guarded(self._store_name, "close a reader", self._inner.close)
