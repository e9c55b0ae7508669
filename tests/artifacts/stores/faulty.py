"""A fault-injecting store driver for tests: wraps any driver and fails on
purpose, so "a failure leaves nothing behind" can be checked on every real
driver.

Registered as kind ``faulty``; build it through ``artifacts.stores.create``
so it sits under the same ``CheckedStore`` as every driver::

    create("faulty", "broken", {"driver": real_store,
                                "fail_write_after": 1000})

``driver`` may be a ``CheckedStore`` (its driver is unwrapped) or a bare
driver.  Faults (all optional):

``fail_write_after``  the write that would take the stored bytes past this
                      count raises instead (the bytes before it are written).
``write_error``       what it raises: ``"unavailable"`` (default,
                      ``StoreUnavailable``), ``"enospc"`` (a raw
                      ``OSError(ENOSPC)``, as a full disk does) or
                      ``"bug"`` (a ``RuntimeError``: an unexpected driver
                      exception).
``fail_commit``       ``commit()`` cancels the real writer and raises
                      ``StoreUnavailable`` (a failure at the final step).
``fail_read_after``   a reader raises ``StoreUnavailable`` once it returned
                      this many bytes.
``fail_open``         ``open()`` raises ``RuntimeError`` (a driver bug).

Everything else is the wrapped driver's.
"""

import errno

from artifacts import errors
from artifacts.stores import register
from artifacts.stores.base import CheckedStore


def _write_error(kind):
    if kind == "enospc":
        return OSError(errno.ENOSPC, "No space left on device")
    if kind == "bug":
        return RuntimeError("injected driver bug: secret internals")
    return errors.StoreUnavailable("Injected write failure.")


class FaultyStore:
    """Delegates to ``inner`` and fails where configured."""

    def __init__(self, name, options):
        inner = options["driver"]
        if isinstance(inner, CheckedStore):
            inner = inner.driver
        self.inner = inner
        self.name = name
        self.fail_write_after = options.get("fail_write_after")
        self.write_error = options.get("write_error", "unavailable")
        self.fail_commit = bool(options.get("fail_commit"))
        self.fail_read_after = options.get("fail_read_after")
        self.fail_open = bool(options.get("fail_open"))

    def __getattr__(self, name):
        if name.startswith("__") or "inner" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def scheme(self):
        return self.inner.scheme

    @property
    def read_only(self):
        return self.inner.read_only

    def writer(self, key):
        return FaultyWriter(self, self.inner.writer(key))

    def open(self, location, offset=0, length=None):
        if self.fail_open:
            raise RuntimeError("injected open failure: secret internals")
        reader = self.inner.open(location, offset, length)
        if self.fail_read_after is None:
            return reader
        return FaultyReader(reader, self.fail_read_after)

    def delete(self, location):
        return self.inner.delete(location)

    def exists(self, location):
        return self.inner.exists(location)

    def owns(self, location):
        return self.inner.owns(location)

    def location_for(self, key):
        return self.inner.location_for(key)

    def describe(self):
        return dict(self.inner.describe(), id=self.name, kind="faulty")


class FaultyWriter:
    def __init__(self, store, inner):
        self.store = store
        self.inner = inner
        self.written = 0

    def __getattr__(self, name):
        if name.startswith("__") or "inner" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.inner, name)

    def write(self, chunk):
        limit = self.store.fail_write_after
        n = memoryview(chunk).nbytes
        if limit is not None and self.written + n > limit:
            head = limit - self.written
            if head > 0:
                self.inner.write(memoryview(chunk)[:head])
                self.written += head
            raise _write_error(self.store.write_error)
        self.inner.write(chunk)
        self.written += n

    def commit(self):
        if self.store.fail_commit:
            # The contract: a failed commit finishes the writer, leaving
            # nothing behind.
            self.inner.cancel()
            raise errors.StoreUnavailable("Injected commit failure.")
        return self.inner.commit()

    def cancel(self):
        self.inner.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cancel()
        return False


class FaultyReader:
    def __init__(self, inner, fail_after):
        self.inner = inner
        self.fail_after = fail_after
        self.returned = 0

    def __getattr__(self, name):
        if name.startswith("__") or "inner" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.inner, name)

    def read(self, n=-1):
        if self.returned >= self.fail_after:
            raise errors.StoreUnavailable("Injected read failure.")
        if n is None or n < 0 or n > self.fail_after - self.returned:
            n = self.fail_after - self.returned
        data = self.inner.read(n)
        self.returned += len(data)
        return data

    def close(self):
        self.inner.close()


register("faulty", FaultyStore)
