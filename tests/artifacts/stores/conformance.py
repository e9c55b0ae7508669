"""The one conformance suite every blob store driver must pass.

A driver's test module does ``from tests.artifacts.stores.conformance import *``
and provides two fixtures:

``make_store``        a factory: ``make_store(**options)`` returns a new store
                      built with ``artifacts.stores.create`` (so wrapped in
                      ``CheckedStore``, as every caller gets it) over the
                      *same* backing storage each call (as two service
                      processes would see it); it must accept the
                      ``read_only`` option.
``backend_contents``  a callable returning a sorted list of everything the
                      backing storage physically holds -- committed objects
                      *and* temporary/partial data -- so "leaves nothing" can
                      be checked without trusting the driver's own API.

``store`` defaults to ``make_store()``.  Tests run against an empty backing.

The wrapper's checks (bad keys, locations and ranges, read-only refusals,
unexpected driver exceptions) and failures injected by the ``faulty``
driver (``tests/artifacts/stores/faulty.py``) mid-write, at commit and
mid-read run here too, so "a failure leaves nothing" is shown on every
driver.

Range rule checked here (see ``artifacts.stores``): ``offset > size`` raises
``RangeNotSatisfiable``; ``offset == size`` gives an empty reader, which is
what lets a zero-byte object be opened at all.
"""

import gc
import hashlib
import os
import threading

import pytest

from artifacts import errors
from artifacts.stores import (MAX_KEY_DEPTH, MAX_KEY_LENGTH,
                              MAX_LOCATION_LENGTH, StoreDriver, create,
                              owner_of)
from artifacts.stores.base import CheckedStore
from artifacts.stores.streaming import write_stream
from tests.artifacts.stores import faulty  # noqa: F401  (registers "faulty")

MiB = 1024 * 1024


@pytest.fixture
def store(make_store):
    return make_store()


def _put(store, key, data):
    w = store.writer(key)
    w.write(data)
    return w.commit()


def _read_all(reader, n=64 * 1024):
    parts = []
    while True:
        part = reader.read(n)
        assert len(part) <= n
        if not part:
            return b"".join(parts)
        parts.append(part)


def _get(store, location, offset=0, length=None):
    reader = store.open(location, offset, length)
    try:
        return _read_all(reader)
    finally:
        reader.close()


def _pattern(size, seed=0):
    """Deterministic, non-periodic-looking test bytes."""
    block = hashlib.sha512(b"%d" % seed).digest()
    return (block * (size // len(block) + 1))[:size]


# -- basic round trip -------------------------------------------------------

def test_write_commit_read_back(store, backend_contents):
    data = os.urandom(300 * 1024 + 7)
    w = store.writer("a/b/blob")
    for i in range(0, len(data), 4096):
        w.write(data[i:i + 4096])
    location = w.commit()
    assert isinstance(location, str)
    assert location.startswith(store.scheme + "://")
    assert store.exists(location)
    reader = store.open(location)
    assert reader.size == len(data)
    assert reader.length == len(data)
    assert _read_all(reader) == data
    reader.close()
    assert len(backend_contents()) == 1


def test_read_never_returns_more_than_asked(store):
    data = _pattern(10000)
    loc = _put(store, "k", data)
    with_reader = store.open(loc)
    assert with_reader.read(1) == data[:1]
    assert with_reader.read(9000) == data[1:9001]
    assert with_reader.read() == data[9001:]
    assert with_reader.read(10) == b""
    with_reader.close()


def test_committed_data_visible_to_another_instance(make_store):
    first, second = make_store(), make_store()
    loc = _put(first, "shared/blob", b"hello")
    assert second.exists(loc)
    assert _get(second, loc) == b"hello"
    second.delete(loc)
    assert not first.exists(loc)


def test_describe(store):
    info = store.describe()
    assert isinstance(info, dict)
    assert info.get("id") == store.name


# -- byte ranges ------------------------------------------------------------

@pytest.mark.parametrize("offset,length,expected", [
    (0, None, slice(0, 1000)),
    (10, None, slice(10, 1000)),
    (0, 10, slice(0, 10)),
    (100, 50, slice(100, 150)),
    (999, None, slice(999, 1000)),
    (999, 5, slice(999, 1000)),        # clamped at the end
    (900, 10 ** 9, slice(900, 1000)),  # clamped at the end
    (0, 0, slice(0, 0)),
    (1000, None, slice(1000, 1000)),   # offset == size: empty reader
    (1000, 10, slice(1000, 1000)),
])
def test_byte_ranges(store, offset, length, expected):
    data = _pattern(1000)
    loc = _put(store, "ranged", data)
    reader = store.open(loc, offset, length)
    want = data[expected]
    assert reader.size == 1000
    assert reader.length == len(want)
    assert reader.read(10 ** 6) == want
    assert reader.read(10) == b""
    reader.close()


@pytest.mark.parametrize("offset", [1001, 5000])
def test_offset_past_end(store, offset):
    loc = _put(store, "ranged", _pattern(1000))
    with pytest.raises(errors.RangeNotSatisfiable):
        store.open(loc, offset)


@pytest.mark.parametrize("offset,length", [
    (-1, None), (0, -1), (True, None), (0, False), (1.5, None), ("1", None),
    (None, None), (0, 2.0), (0, "10"),
], ids=["neg-offset", "neg-length", "bool-offset", "bool-length",
        "float-offset", "str-offset", "none-offset", "float-length",
        "str-length"])
def test_bad_range_is_invalid(store, offset, length):
    loc = _put(store, "ranged", b"abc")
    with pytest.raises(errors.Invalid):
        store.open(loc, offset, length)


def test_zero_byte_object(store):
    loc = store.writer("empty").commit()
    assert store.exists(loc)
    reader = store.open(loc)
    assert (reader.size, reader.length) == (0, 0)
    assert reader.read(100) == b""
    reader.close()
    with pytest.raises(errors.RangeNotSatisfiable):
        store.open(loc, 1)


def test_open_missing_is_not_found(store):
    loc = _put(store, "gone", b"x")
    store.delete(loc)
    with pytest.raises(errors.NotFound):
        store.open(loc)


# -- all or nothing -----------------------------------------------------------

def test_cancel_leaves_nothing(store, backend_contents):
    w = store.writer("cancelled")
    w.write(b"x" * 100000)
    w.cancel()
    w.cancel()  # idempotent
    assert backend_contents() == []
    # The key is free: nothing half-written occupies it.
    assert write_stream(store, "cancelled", [b"ok"]).size == 2


def test_abandoned_writer_leaves_nothing(store, backend_contents):
    w = store.writer("abandoned")
    w.write(b"x" * 1000)
    del w
    gc.collect()
    assert backend_contents() == []


def _died(writer):
    """Forget a writer as a killed process would: no cancel, ever."""
    inner = writer
    while hasattr(inner, "_inner"):
        inner = inner._inner
    inner._done = True


def test_discard_removes_a_dead_writers_partial_data(make_store,
                                                     backend_contents):
    """A writer whose process died leaves partial data (a temp file, chunk
    rows, a multipart upload) that only its key can find: ``discard(key)``
    from another instance removes it, and committed data under a key."""
    dying = make_store().writer("dying/key")
    dying.write(_pattern(6 * MiB + 1))        # past a part, chunk, buffer
    assert backend_contents() != []
    kept = _put(make_store(), "kept", b"kept")
    gone = _put(make_store(), "gone", b"gone")
    survivor = make_store()
    survivor.discard("dying/key")
    survivor.discard("gone")
    survivor.discard("never-written")         # absent: not an error
    contents = backend_contents()
    assert len(contents) == 1 and "kept" in contents[0]
    assert _get(survivor, kept) == b"kept"
    assert not survivor.exists(gone)
    _died(dying)
    # The key is free again.
    assert write_stream(survivor, "dying/key", [b"ok"]).size == 2


def test_discard_is_refused_on_a_read_only_store(make_store):
    with pytest.raises(errors.Forbidden):
        make_store(read_only=True).discard("k")


def test_writer_context_manager_exception_cancels(store, backend_contents):
    with pytest.raises(RuntimeError):
        with store.writer("ctx") as w:
            w.write(b"partial")
            raise RuntimeError("boom")
    assert backend_contents() == []


def test_uncommitted_data_is_invisible(store, backend_contents):
    # Two uploads race for a key: the first to commit wins, the loser's
    # earlier-written bytes never show.
    slow = store.writer("raced")
    slow.write(b"slow data")
    fast_loc = _put(store, "raced", b"fast")
    with pytest.raises(errors.Conflict):
        slow.commit()
    assert _get(store, fast_loc) == b"fast"
    assert len(backend_contents()) == 1


def _failing_stream(exc, after=3 * MiB + 5):
    sent = 0
    while sent < after:
        yield b"z" * 65536
        sent += 65536
    raise exc


@pytest.mark.parametrize("exc", [
    RuntimeError("boom"),
    OSError("client disconnected"),
    GeneratorExit(),
    KeyboardInterrupt(),
], ids=lambda e: type(e).__name__)
def test_exception_mid_stream_leaves_nothing(store, backend_contents, exc):
    with pytest.raises(type(exc)):
        write_stream(store, "doomed", _failing_stream(exc))
    assert backend_contents() == []
    assert write_stream(store, "doomed", [b"second try"]).size == 10


def test_commit_on_existing_key_conflicts(make_store, backend_contents):
    first, second = make_store(), make_store()
    loc = _put(first, "once", b"original")
    for s in (first, second):
        with pytest.raises(errors.Conflict):
            _put(s, "once", b"replacement")
        with pytest.raises(errors.Conflict):
            write_stream(s, "once", [b"replacement"])
    assert _get(first, loc) == b"original"
    assert len(backend_contents()) == 1


# -- delete / exists ----------------------------------------------------------

def test_delete_is_idempotent(store, backend_contents):
    loc = _put(store, "del/me", b"bye")
    assert store.exists(loc)
    store.delete(loc)
    assert not store.exists(loc)
    store.delete(loc)
    assert backend_contents() == []


def test_delete_leaves_siblings(store):
    a = _put(store, "dir/a", b"a")
    b = _put(store, "dir/b", b"b")
    store.delete(a)
    assert _get(store, b) == b"b"
    # A key can be reused once its object was deleted.
    assert _get(store, _put(store, "dir/a", b"again")) == b"again"


# -- key rule -----------------------------------------------------------------

BAD_KEYS = {
    "empty": "",
    "dotdot": "a/../b",
    "leading-dotdot": "../escape",
    "dot": "a/./b",
    "absolute": "/etc/passwd",
    "nul": "a\x00b",
    "trailing-slash": "a/b/",
    "empty-segment": "a//b",
    "too-long": "x" * (MAX_KEY_LENGTH + 1),
    "too-deep": "/".join(["d"] * (MAX_KEY_DEPTH + 1)),
    "not-a-string": b"bytes-key",
}


@pytest.mark.parametrize("key", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
def test_bad_keys_rejected(store, backend_contents, key):
    with pytest.raises(errors.Invalid):
        store.writer(key)
    with pytest.raises(errors.Invalid):
        write_stream(store, key, [b"data"])
    assert backend_contents() == []


@pytest.mark.parametrize("key", [
    "simple", "a/b/c", "with space/and-dash_1.txt", "ünïcode/ключ",
    # Longest key, in segments a filesystem can name (255 bytes each).
    (("x" * 199 + "/") * 10)[:MAX_KEY_LENGTH - 1] + "z",
    "/".join(["d"] * MAX_KEY_DEPTH), "...", "a/.b", "a?b#c%20d",
])
def test_good_keys_accepted(store, key):
    loc = _put(store, key, b"data")
    assert _get(store, loc) == b"data"


# -- streaming ----------------------------------------------------------------

def test_large_streamed_object(store):
    size = 64 * MiB + 12345
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    base = os.urandom(MiB)

    def gen():
        sent, i = 0, 0
        while sent < size:
            # Varying, unaligned chunk sizes; each chunk distinct.
            n = min(size - sent, 65536 + (i * 7919) % 200000)
            start = (i * 4099) % (len(base) - n) if n < len(base) else 0
            chunk = base[start:start + n]
            md5.update(chunk)
            sha512.update(chunk)
            sent += n
            i += 1
            yield chunk

    result = write_stream(store, "big/object", gen())
    assert result.size == size
    assert result.digests == {"md5": md5.hexdigest(),
                              "sha512": sha512.hexdigest()}
    back = hashlib.sha512()
    reader = store.open(result.location)
    assert reader.length == size
    while True:
        block = reader.read(4 * MiB)
        if not block:
            break
        back.update(block)
    reader.close()
    assert back.hexdigest() == result.digests["sha512"]


@pytest.mark.parametrize("size", [0, 1, MiB, 3 * MiB + 1])
def test_max_size_exact_fit_is_accepted(store, size):
    result = write_stream(store, "fit", [_pattern(size)], max_size=size)
    assert result.size == size


def test_max_size_enforced_leaves_nothing(store, backend_contents):
    sent = []

    def gen():
        for _ in range(100):
            sent.append(1)
            yield b"y" * 100000

    with pytest.raises(errors.RequestTooLarge) as info:
        write_stream(store, "huge", gen(), max_size=250000)
    assert "too large" in info.value.message
    # Refused as soon as the cap was passed, not after reading everything.
    assert len(sent) == 3
    assert backend_contents() == []


# -- concurrency --------------------------------------------------------------

def test_concurrent_writers_different_keys(make_store, backend_contents):
    results, failures = {}, []

    def upload(i):
        try:
            s = make_store()
            data = _pattern(2 * MiB + i * 1000, seed=i)
            chunks = (data[j:j + 100000] for j in range(0, len(data), 100000))
            res = write_stream(s, "concurrent/%d" % i, chunks)
            results[i] = (res, hashlib.md5(data).hexdigest(), data)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    store = make_store()
    for i, (res, md5, data) in results.items():
        assert res.digests["md5"] == md5
        assert _get(store, res.location) == data
    assert len(backend_contents()) == 8


def test_concurrent_writers_same_key_one_wins(make_store, backend_contents):
    outcomes = []
    barrier = threading.Barrier(6)

    def upload(i):
        s = make_store()
        w = s.writer("contended")
        w.write(_pattern(MiB, seed=i))
        barrier.wait()
        try:
            outcomes.append(("ok", i, w.commit()))
        except errors.Conflict:
            outcomes.append(("conflict", i, None))

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o[0] == "ok"]
    assert len(winners) == 1 and len(outcomes) == 6
    _, seed, loc = winners[0]
    assert _get(make_store(), loc) == _pattern(MiB, seed=seed)
    assert len(backend_contents()) == 1


# -- the checking wrapper -------------------------------------------------------

def test_store_is_checked_and_declares_the_interface(store):
    assert isinstance(store, CheckedStore)
    assert isinstance(store, StoreDriver)
    assert isinstance(store.driver, StoreDriver)
    assert store.read_only is False
    assert store.describe()["read_only"] is False


BAD_LOCATIONS = {
    "none": None, "empty": "", "bytes": b"file:///x", "int": 42,
    "too-long": "x" * (MAX_LOCATION_LENGTH + 1),
}


@pytest.mark.parametrize("location", list(BAD_LOCATIONS.values()),
                         ids=list(BAD_LOCATIONS))
def test_bad_location_values_are_invalid(store, location):
    for call in (store.open, store.delete, store.exists):
        with pytest.raises(errors.Invalid) as info:
            call(location)
        assert store.name in info.value.message
    assert store.owns(location) is False


def test_location_with_nul_is_invalid(store):
    loc = _put(store, "nul", b"x")
    for call in (store.open, store.delete, store.exists):
        with pytest.raises(errors.Invalid):
            call(loc + "\x00")
    assert store.exists(loc)


def test_owns_its_locations(make_store):
    store = make_store()
    loc = _put(store, "owned/blob", b"x")
    assert store.owns(loc) is True
    assert make_store().owns(loc) is True
    for other in ("ftp://host/x", "rbd://fsid/pool/image/snap",
                  "not a url", "https://example.com/image"):
        assert store.owns(other) is False
    assert owner_of([store], loc) is store
    assert owner_of({"a": store}, "rbd://fsid/pool/image/snap") is None
    # Deleted data: the location is still the store's.
    store.delete(loc)
    assert store.owns(loc) is True


def test_delete_reports_the_data_gone(store):
    loc = _put(store, "gone", b"x")
    assert store.delete(loc) is True
    assert store.delete(loc) is True


def test_read_only_store_refuses_writes_and_deletes(make_store,
                                                    backend_contents):
    loc = _put(make_store(), "kept", b"data")
    ro = make_store(read_only=True)
    assert ro.read_only is True and ro.describe()["read_only"] is True
    with pytest.raises(errors.Forbidden) as info:
        ro.writer("new")
    assert repr(ro.name) in info.value.message
    assert "read-only" in info.value.message
    with pytest.raises(errors.Forbidden):
        write_stream(ro, "new", [b"x"])
    with pytest.raises(errors.Forbidden) as info:
        ro.delete(loc)
    assert repr(ro.name) in info.value.message
    # Reading is what a read-only store is for.
    assert ro.exists(loc) and ro.owns(loc)
    assert _get(ro, loc) == b"data"
    assert len(backend_contents()) == 1


@pytest.mark.parametrize("method", ["open", "exists", "delete", "describe",
                                    "owns", "writer"])
def test_unexpected_driver_exception_is_store_unavailable(
        store, backend_contents, monkeypatch, caplog, method):
    loc = _put(store, "k", b"data")

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(store.driver, method, broken)
    call = {"describe": lambda: store.describe(),
            "writer": lambda: store.writer("other")}.get(
        method, lambda: getattr(store, method)(loc))
    with caplog.at_level("ERROR", logger="artifacts.stores.base"):
        with pytest.raises(errors.StoreUnavailable) as info:
            call()
    assert repr(store.name) in info.value.message
    assert "secret internals" not in info.value.message
    # The original, with its traceback, is in the log for the operator.
    assert "secret internals" in caplog.text
    assert "Traceback" in caplog.text
    monkeypatch.undo()
    assert _get(store, loc) == b"data"
    assert len(backend_contents()) == 1


def test_reader_and_writer_failures_are_translated(store, backend_contents,
                                                   monkeypatch):
    loc = _put(store, "k", b"data")
    reader = store.open(loc)
    monkeypatch.setattr(reader._inner, "read", lambda n=-1: 1 / 0)
    with pytest.raises(errors.StoreUnavailable) as info:
        reader.read(10)
    assert repr(store.name) in info.value.message
    reader.close()
    with pytest.raises(ValueError):
        reader.read(1)       # use after close is the caller's bug
    w = store.writer("w")
    monkeypatch.setattr(w._inner, "write", lambda chunk: 1 / 0)
    with pytest.raises(errors.StoreUnavailable):
        w.write(b"x")
    w.cancel()
    assert len(backend_contents()) == 1


# -- injected faults (tests/artifacts/stores/faulty.py) -------------------------

def _faulty(store, **faults):
    return create("faulty", "faulty-" + store.name, dict(faults, driver=store))


def _blocks(count, size=MiB):
    return (_pattern(size, seed=i) for i in range(count))


@pytest.mark.parametrize("error,expected", [
    ("unavailable", errors.StoreUnavailable),
    ("enospc", errors.RequestTooLarge),
    ("bug", errors.StoreUnavailable),
])
def test_write_fault_mid_stream_leaves_nothing(store, backend_contents,
                                               error, expected):
    # Past one 5 MiB part, so an s3 writer has a multipart upload to abort.
    broken = _faulty(store, fail_write_after=6 * MiB + 100,
                     write_error=error)
    with pytest.raises(expected) as info:
        write_stream(broken, "faulted", _blocks(8))
    if error == "enospc":
        # As the filesystem driver has always answered a full disk.
        assert "Image storage media is full" in info.value.message
    if error == "bug":
        assert repr(broken.name) in info.value.message
    assert backend_contents() == []
    # Nothing half-written holds the key.
    assert write_stream(store, "faulted", [b"ok"]).size == 2


def test_write_fault_with_a_bare_writer_leaves_nothing(store,
                                                       backend_contents):
    broken = _faulty(store, fail_write_after=1000)
    with pytest.raises(errors.StoreUnavailable):
        with broken.writer("bare") as w:
            w.write(b"a" * 600)
            w.write(b"b" * 600)
    assert backend_contents() == []


def test_commit_fault_leaves_nothing(store, backend_contents):
    broken = _faulty(store, fail_commit=True)
    with pytest.raises(errors.StoreUnavailable):
        write_stream(broken, "unfinished", _blocks(3))
    assert backend_contents() == []
    w = broken.writer("unfinished")
    w.write(b"x")
    with pytest.raises(errors.StoreUnavailable):
        w.commit()
    with pytest.raises(ValueError):
        w.commit()           # a failed commit finished the writer
    assert backend_contents() == []


def test_read_fault_is_store_unavailable(store):
    data = _pattern(300000)
    loc = _put(store, "read-fault", data)
    broken = _faulty(store, fail_read_after=1000)
    reader = broken.open(loc)
    assert reader.read(600) == data[:600]
    assert reader.read(600) == data[600:1000]
    with pytest.raises(errors.StoreUnavailable):
        reader.read(10)
    reader.close()
    # The data itself is intact.
    assert _get(store, loc) == data


def test_open_fault_names_the_store(store):
    loc = _put(store, "open-fault", b"x")
    broken = _faulty(store, fail_open=True)
    with pytest.raises(errors.StoreUnavailable) as info:
        broken.open(loc)
    assert repr(broken.name) in info.value.message
    assert "secret internals" not in info.value.message
