"""artifacts.cache: fills while streaming, verified commits, LRU eviction,
queue, clean, invalidation and the prefetcher, on a real directory."""

import hashlib
import io
import os
import threading
import uuid
from types import SimpleNamespace

import pytest

from artifacts import errors
from artifacts.cache import ImageCache, Prefetcher


class Reader(io.BytesIO):
    """A store reader: ``read(n)`` and ``close``."""

    closed_count = 0

    def close(self):
        Reader.closed_count += 1
        super().close()


def blob_of(data, blob_id=None, md5=None):
    # Blob ids are database integers.
    return {"id": blob_id or uuid.uuid4().int % 10 ** 9, "size": len(data),
            "md5": md5 or hashlib.md5(data).hexdigest()}


def drain(reader, block=7):
    out = []
    while True:
        chunk = reader.read(block)
        if not chunk:
            break
        out.append(chunk)
    reader.close()
    return b"".join(out)


@pytest.fixture
def cache(tmp_path):
    return ImageCache(str(tmp_path / "cache"), max_size=100)


def fill(cache, data, image_id=None, blob=None):
    image_id = image_id or str(uuid.uuid4())
    blob = blob or blob_of(data)
    assert drain(cache.tee(image_id, blob, Reader(data))) == data
    return image_id, blob


def test_a_whole_download_fills_the_cache_and_later_reads_come_from_it(cache):
    data = b"0123456789" * 5
    image_id, blob = fill(cache, data)
    assert cache.is_cached(image_id)
    [entry] = cache.cached_images()
    assert entry["image_id"] == image_id and entry["size"] == 50
    assert entry["hits"] == 0
    hit = cache.open(image_id, blob)
    assert hit.fileno() >= 0            # a real file: sendfile works
    assert drain(hit) == data
    assert drain(cache.open(image_id, blob, 10, 5)) == b"01234"
    assert cache.cached_images()[0]["hits"] == 2
    assert os.listdir(os.path.join(cache.directory, "incomplete")) == []


def test_range_past_the_end_of_a_cached_copy_is_unsatisfiable(cache):
    image_id, blob = fill(cache, b"abc")
    with pytest.raises(errors.RangeNotSatisfiable):
        cache.open(image_id, blob, 4)


def test_a_download_cut_short_leaves_nothing(cache):
    data = b"x" * 40
    image_id = str(uuid.uuid4())
    tee = cache.tee(image_id, blob_of(data), Reader(data))
    assert tee.read(10) == b"x" * 10
    tee.close()
    assert not cache.is_cached(image_id)
    assert os.listdir(os.path.join(cache.directory, "incomplete")) == []


def test_bytes_that_do_not_match_the_blob_are_never_served(cache):
    data = b"y" * 30
    image_id = str(uuid.uuid4())
    blob = blob_of(data, md5="0" * 32)
    assert drain(cache.tee(image_id, blob, Reader(data))) == data
    assert not cache.is_cached(image_id)
    assert cache.open(image_id, blob) is None
    assert os.listdir(os.path.join(cache.directory, "invalid")) == [image_id]
    assert cache.clean() == 1
    assert os.listdir(os.path.join(cache.directory, "invalid")) == []


def test_concurrent_first_downloads_fill_once(cache):
    data = b"z" * 60
    image_id, blob = str(uuid.uuid4()), blob_of(data)
    first = cache.tee(image_id, blob, Reader(data))
    plain = Reader(data)
    assert cache.tee(image_id, blob, plain) is plain   # already being filled
    assert drain(plain) == data
    assert drain(first) == data
    assert drain(cache.open(image_id, blob)) == data


def test_many_threads_downloading_at_once_never_corrupt_it(tmp_path):
    cache = ImageCache(str(tmp_path / "c"), max_size=10 ** 7)
    data = os.urandom(300_000)
    image_id, blob = str(uuid.uuid4()), blob_of(data)
    results = []

    def download():
        reader = cache.open(image_id, blob) or cache.tee(image_id, blob,
                                                         Reader(data))
        results.append(drain(reader, 4096))
    threads = [threading.Thread(target=download) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [data] * 8
    assert drain(cache.open(image_id, blob)) == data


def test_an_image_larger_than_the_cache_is_streamed_uncached(cache):
    data = b"b" * 101
    image_id = str(uuid.uuid4())
    reader = Reader(data)
    assert cache.tee(image_id, blob_of(data), reader) is reader


def test_least_recently_used_entries_are_evicted_past_max_size(cache):
    a, blob_a = fill(cache, b"a" * 40)
    b, _ = fill(cache, b"b" * 40)
    drain(cache.open(a, blob_a))        # a is now more recent than b
    c, _ = fill(cache, b"c" * 40)
    cached = {e["image_id"] for e in cache.cached_images()}
    assert cached == {a, c}
    assert cache.total_size() == 80
    assert not os.path.exists(os.path.join(cache.directory, b))


def test_prune_reports_what_it_evicted(tmp_path):
    big = ImageCache(str(tmp_path / "c"), max_size=1000)
    fill(big, b"1" * 300)
    fill(big, b"2" * 300)
    small = ImageCache(str(tmp_path / "c"), max_size=400)
    assert small.prune() == (1, 300)
    assert small.prune() == (0, 0)


def test_an_entry_of_another_blob_is_dropped(cache):
    image_id, blob = fill(cache, b"q" * 10)
    other = dict(blob, id=blob["id"] + 1)
    assert cache.open(image_id, other) is None
    assert not cache.is_cached(image_id)


def test_ids_are_never_paths(cache):
    assert not cache.is_cached("../cache.db")
    reader = Reader(b"x")
    assert cache.tee("../../etc/passwd", blob_of(b"x"), reader) is reader
    assert not cache.delete("../cache.db")
    with pytest.raises(errors.NotFound):
        cache.queue("../x")
    assert os.path.exists(cache.db_path)


def test_queue_and_clear(cache):
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    assert cache.queue(one) and cache.queue(two)
    assert sorted(cache.queued_images()) == sorted([one, two])
    assert cache.dequeue(one) and not cache.dequeue(one)
    assert cache.dequeue_all() == 1
    cached, _ = fill(cache, b"k")
    assert not cache.queue(cached)      # already cached
    assert cache.delete_all() == 1 and cache.cached_images() == []


def test_clean_removes_stalled_fills_only(cache):
    image_id = str(uuid.uuid4())
    tee = cache.tee(image_id, blob_of(b"s" * 20), Reader(b"s" * 20))
    tee.read(5)
    assert cache.clean() == 0            # younger than the stall time
    assert cache.clean(stall_time=0) == 1
    tee.close()


def test_deletion_drops_the_entry_deactivation_keeps_it(cache):
    images = SimpleNamespace(name="images")
    a, _ = fill(cache, b"1")
    b, _ = fill(cache, b"2")
    cache.on_event(SimpleNamespace(name="delete", atype=images,
                                   artifact_id=a, details={}))
    cache.on_event(SimpleNamespace(name="status", atype=images,
                                   artifact_id=b,
                                   details={"new": "deactivated"}))
    assert [e["image_id"] for e in cache.cached_images()] == [b]
    assert list(cache.cached_images()[0]) == [
        "id", "image_id", "last_accessed", "last_modified", "size", "hits",
        "checksum"]


def test_prefetcher_fills_queued_images_and_drops_missing_ones(cache):
    data = b"p" * 33
    good, gone = str(uuid.uuid4()), str(uuid.uuid4())
    blob = blob_of(data)

    def open_data(image_id):
        if image_id == gone:
            raise errors.NotFound("gone")
        return SimpleNamespace(
            blob=blob, read=lambda offset, length: Reader(data))
    cache.queue(good)
    cache.queue(gone)
    assert Prefetcher(cache, open_data).run_once() == 1
    assert cache.queued_images() == []
    assert drain(cache.open(good, blob)) == data
