"""glance_compat.cache.data_reader: which reader a download sends."""

import hashlib
import io
import uuid
from types import SimpleNamespace

import flask
import pytest

from artifacts.cache import ImageCache
from glance_compat import cache as face
from glance_compat.common import EXTENSION

DATA = b"0123456789" * 3


class Download:
    """A Download whose store reads are counted."""

    def __init__(self, status="active"):
        self.artifact = {"id": str(uuid.uuid4()), "status": status}
        self.blob = {"id": 7, "size": len(DATA),
                     "md5": hashlib.md5(DATA).hexdigest()}
        self.reads = []

    def read(self, offset=0, length=None):
        self.reads.append((offset, length))
        end = len(DATA) if length is None else offset + length
        return io.BytesIO(DATA[offset:end])


@pytest.fixture
def app_with(tmp_path):
    def make(cache):
        app = flask.Flask("t")
        app.extensions[EXTENSION] = SimpleNamespace(
            engine=SimpleNamespace(cache=cache))
        return app.app_context()
    return make


def read_all(reader):
    data = reader.read()
    reader.close()
    return data


def test_without_a_cache_the_store_is_read(app_with):
    d = Download()
    with app_with(None):
        assert read_all(face.data_reader(d, 2, 3, ranged=True)) == DATA[2:5]
    assert d.reads == [(2, 3)]


def test_whole_download_fills_then_hits_including_ranges(app_with,
                                                         tmp_path):
    cache = ImageCache(str(tmp_path / "c"))
    d = Download()
    with app_with(cache):
        assert read_all(face.data_reader(d, 0, len(DATA), False)) == DATA
        assert cache.is_cached(d.artifact["id"])
        assert read_all(face.data_reader(d, 0, len(DATA), False)) == DATA
        assert read_all(face.data_reader(d, 5, 4, True)) == DATA[5:9]
    assert d.reads == [(0, len(DATA))]          # the store, once


def test_a_range_miss_reads_the_store_and_does_not_fill(app_with, tmp_path):
    cache = ImageCache(str(tmp_path / "c"))
    d = Download()
    with app_with(cache):
        assert read_all(face.data_reader(d, 1, 2, True)) == DATA[1:3]
    assert not cache.is_cached(d.artifact["id"])


def test_a_deactivated_image_is_never_read_from_the_cache(app_with,
                                                          tmp_path):
    cache = ImageCache(str(tmp_path / "c"))
    d = Download()
    with app_with(cache):
        read_all(face.data_reader(d, 0, len(DATA), False))
        d.artifact["status"] = "deactivated"
        assert read_all(face.data_reader(d, 0, len(DATA), False)) == DATA
    assert len(d.reads) == 2
