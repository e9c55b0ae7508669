"""write_stream specifics: digests, re-chunking, on_chunk, limits, failures.
(Driver behaviour is covered by the conformance suite.)"""

import hashlib
import itertools
import os
import threading
import time

import pytest

from artifacts import errors
from artifacts.stores import streaming
from artifacts.stores.filesystem import FilesystemStore
from artifacts.stores.streaming import WriteResult, blocks, write_stream

MiB = 1024 * 1024


@pytest.fixture
def store(tmp_path):
    return FilesystemStore("local", {"datadir": str(tmp_path / "data")})


def _leftovers(store):
    found = []
    for root, _dirs, files in os.walk(store.datadir):
        found.extend(os.path.join(root, f) for f in files)
    return found


def _read(store, location):
    with store.open(location) as reader:
        return reader.read(-1)


DATA = os.urandom(3 * MiB + 333)


@pytest.mark.parametrize("algorithms", [
    ("md5",), ("sha1",), ("sha256",), ("sha512",),
    ("md5", "sha512"), ("sha1", "sha256"),
    ("md5", "sha1", "sha256", "sha512"), (),
], ids=lambda a: "+".join(a) or "none")
def test_digests_match_hashlib(store, algorithms):
    chunks = (DATA[i:i + 70001] for i in range(0, len(DATA), 70001))
    result = write_stream(store, "obj", chunks, algorithms=algorithms)
    assert isinstance(result, WriteResult)
    assert result.size == len(DATA)
    assert result.digests == {a: hashlib.new(a, DATA).hexdigest()
                              for a in algorithms}
    assert _read(store, result.location) == DATA


def test_default_algorithms_are_glance_checksum_and_os_hash(store):
    result = write_stream(store, "obj", [b"abc"])
    assert result.digests == {"md5": hashlib.md5(b"abc").hexdigest(),
                              "sha512": hashlib.sha512(b"abc").hexdigest()}


def test_empty_stream(store):
    for key, chunks in (("none", []), ("empties", [b"", b"", b""])):
        result = write_stream(store, key, iter(chunks))
        assert result.size == 0
        assert result.digests == {"md5": hashlib.md5().hexdigest(),
                                  "sha512": hashlib.sha512().hexdigest()}
        assert _read(store, result.location) == b""


@pytest.mark.parametrize("sizes", [
    [1] * 5000,
    [0, 7, 0, MiB - 7, 1, 0, 3 * MiB, 12],
    [5 * MiB + 3],
    [MiB, MiB, MiB],
    [MiB - 1, 2, MiB - 1],
], ids=["bytes", "mixed", "huge", "aligned", "straddling"])
def test_any_chunk_sizes(store, sizes):
    data = os.urandom(sum(sizes))
    offsets = list(itertools.accumulate([0] + sizes))
    chunks = [data[a:b] for a, b in zip(offsets, offsets[1:])]
    result = write_stream(store, "obj", chunks)
    assert result.size == len(data)
    assert result.digests["sha512"] == hashlib.sha512(data).hexdigest()
    assert _read(store, result.location) == data


def test_blocks_are_bounded_and_reassemble():
    data = os.urandom(5 * MiB + 17)
    sizes = [1, 1000, 3 * MiB, 7, MiB + 5, 0, 5, MiB - 1]
    sizes.append(len(data) - sum(sizes))
    offsets = list(itertools.accumulate([0] + sizes))
    out = list(blocks((data[a:b] for a, b in zip(offsets, offsets[1:]))))
    assert all(len(b) == MiB for b in out[:-1])
    assert 0 < len(out[-1]) <= MiB
    assert b"".join(bytes(b) for b in out) == data


def test_reused_producer_buffer_is_copied(store):
    # A producer that refills one bytearray (readinto style) must not corrupt
    # blocks still being hashed or written.
    def gen():
        buf = bytearray(100000)
        for i in range(40):
            buf[:] = bytes([i]) * len(buf)
            yield buf
    expected = b"".join(bytes([i]) * 100000 for i in range(40))
    result = write_stream(store, "obj", gen(), algorithms=("md5", "sha256"))
    assert result.digests["md5"] == hashlib.md5(expected).hexdigest()
    assert result.digests["sha256"] == hashlib.sha256(expected).hexdigest()
    assert _read(store, result.location) == expected


def test_memoryview_chunks(store):
    data = os.urandom(2 * MiB)
    view = memoryview(data)
    result = write_stream(store, "mv", [view[:10], view[10:MiB], view[MiB:]])
    assert result.digests["md5"] == hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("bad", ["text", 5, None])
def test_non_bytes_chunks_are_refused(store, bad):
    with pytest.raises(TypeError):
        write_stream(store, "obj", [b"ok", bad])
    assert _leftovers(store) == []


def test_on_chunk_sees_running_total(store):
    seen = []
    data = os.urandom(2 * MiB + 10)
    chunks = (data[i:i + 4096] for i in range(0, len(data), 4096))
    result = write_stream(store, "obj", chunks, on_chunk=seen.append)
    assert seen == [MiB, 2 * MiB, 2 * MiB + 10]
    assert result.size == seen[-1]


def test_on_chunk_can_abort(store):
    def quota(total):
        if total > MiB:
            raise errors.RequestTooLarge("quota exceeded")

    with pytest.raises(errors.RequestTooLarge, match="quota"):
        write_stream(store, "obj", [b"q" * (3 * MiB)], on_chunk=quota)
    assert _leftovers(store) == []


def test_max_size_message_is_a_parameter(store):
    with pytest.raises(errors.RequestTooLarge) as info:
        write_stream(store, "obj", [b"x" * 11], max_size=10)
    assert info.value.message == streaming.TOO_LARGE_MESSAGE
    assert info.value.status == 413
    with pytest.raises(errors.RequestTooLarge, match="^over the cap$"):
        write_stream(store, "obj", [b"x" * 11], max_size=10,
                     too_large_message="over the cap")
    assert _leftovers(store) == []


def test_max_size_checked_before_buffering(store):
    # A single chunk over the cap is refused before anything is written.
    calls = []
    with pytest.raises(errors.RequestTooLarge):
        write_stream(store, "obj", [b"x" * 100, b"y" * 2000], max_size=1000,
                     on_chunk=calls.append)
    assert calls == []


def test_unknown_algorithm_is_invalid_and_writes_nothing(store):
    for algos in (("md5", "nope"), ("shake_128",)):
        with pytest.raises(errors.Invalid):
            write_stream(store, "obj", [b"x"], algorithms=algos)
    assert _leftovers(store) == []


def test_expected_digests(store):
    good = {"md5": hashlib.md5(b"data").hexdigest().upper()}
    assert write_stream(store, "ok", [b"data"], expected_digests=good).size == 4
    with pytest.raises(errors.Invalid, match="does not match"):
        write_stream(store, "bad", [b"data"],
                     expected_digests={"sha512": "00" * 64})
    with pytest.raises(errors.Invalid):
        write_stream(store, "bad", [b"data"], algorithms=("md5",),
                     expected_digests={"sha256": "00"})
    assert not store.exists(store.location_for("bad"))


def test_writer_is_cancelled_on_failure_in_write(store, monkeypatch):
    cancelled = []

    class FailingWriter:
        def write(self, chunk):
            raise OSError("disk on fire")

        def commit(self):  # pragma: no cover - never reached
            raise AssertionError

        def cancel(self):
            cancelled.append(True)

    monkeypatch.setattr(store, "writer", lambda key: FailingWriter())
    with pytest.raises(OSError):
        write_stream(store, "obj", [b"x" * 10])
    assert cancelled == [True]


def test_failure_in_commit_leaves_nothing(store):
    write_stream(store, "taken", [b"first"])
    with pytest.raises(errors.Conflict):
        write_stream(store, "taken", [os.urandom(3 * MiB)])
    assert len(_leftovers(store)) == 1


def test_parallel_uploads_hash_correctly(store):
    results, failures = [], []

    def upload(i):
        try:
            data = bytes([i]) * (3 * MiB + i)
            r = write_stream(store, "p/%d" % i, [data],
                             algorithms=("md5", "sha1", "sha256", "sha512"))
            results.append(r.digests == {
                a: hashlib.new(a, data).hexdigest()
                for a in ("md5", "sha1", "sha256", "sha512")})
        except BaseException as exc:  # pragma: no cover
            failures.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and results == [True] * 10


def _hash_threads():
    return [t for t in threading.enumerate() if t.name.startswith("blob-hash")]


def test_no_hash_threads_left_behind(store):
    write_stream(store, "ok", [os.urandom(3 * MiB)],
                 algorithms=("md5", "sha1", "sha512"))
    with pytest.raises(RuntimeError):
        write_stream(store, "bad", _raising_after(5 * MiB))
    assert _hash_threads() == []


def _raising_after(size):
    yield b"r" * size
    raise RuntimeError("client went away")


def test_hash_failure_aborts_the_upload(store, monkeypatch):
    class Broken:
        def update(self, data):
            raise MemoryError("hash exploded")

        def hexdigest(self):  # pragma: no cover - never reached
            return ""

    real = streaming.new_hashers

    def hashers(algorithms):
        found = real(algorithms)
        found["md5"] = Broken()
        return found

    monkeypatch.setattr(streaming, "new_hashers", hashers)
    with pytest.raises(MemoryError):
        write_stream(store, "obj", (b"x" * 100000 for _ in range(100)))
    assert _leftovers(store) == []
    assert _hash_threads() == []


def test_slow_consumer_memory_is_bounded(store, monkeypatch):
    # A hash thread that lags must make the producer wait instead of letting
    # blocks pile up: count blocks alive at once.
    alive = []
    peak = [0]

    class Slow:
        def __init__(self):
            self.h = hashlib.md5()

        def update(self, data):
            time.sleep(0.002)
            self.h.update(data)
            alive.remove(id(data))

        def hexdigest(self):
            return self.h.hexdigest()

    def hashers(algorithms):
        return {"md5": Slow()}

    def tracking_blocks(*args, **kwargs):
        for block in streaming_blocks(*args, **kwargs):
            alive.append(id(block))
            peak[0] = max(peak[0], len(alive))
            yield block

    streaming_blocks = streaming.blocks
    monkeypatch.setattr(streaming, "new_hashers", hashers)
    monkeypatch.setattr(streaming, "blocks", tracking_blocks)
    data = os.urandom(MiB)
    result = write_stream(store, "obj", [data] * 40)
    assert result.digests["md5"] == hashlib.md5(data * 40).hexdigest()
    assert peak[0] <= streaming.QUEUE_DEPTH + 2
