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


# ------------------------------------------------- GET /v2/cache/nodes/{id}

def _app(tmp_path, **overrides):
    from tests import wsgi_app
    client = wsgi_app.client(wsgi_app.sqlite_conf(tmp_path, dict({
        "DEFAULT.image_cache_dir": str(tmp_path / "cache")}, **overrides)))
    return client, client.engine


H = {"X-Auth-Token": "x"}


def _cached_image(client):
    image_id = client.post("/v2/images", json={
        "disk_format": "raw", "container_format": "bare"}, headers=H).json["id"]
    assert client.put("/v2/images/%s/file" % image_id, data=DATA, headers=dict(
        H, **{"Content-Type": "application/octet-stream"})).status_code == 204
    resp = client.get("/v2/images/%s/file" % image_id, headers=H)
    assert resp.get_data() == DATA
    resp.close()
    return image_id


def test_centralized_db_lists_the_nodes_caching_an_image(tmp_path):
    """Glance's default driver with this node's URL: 200 and the JSON list
    of node URLs; [] for an image no node caches; 404 for an unknown one."""
    client, engine = _app(tmp_path, **{
        "DEFAULT.worker_self_reference_url": "http://node-1:9292"})
    try:
        image_id = _cached_image(client)
        resp = client.get("/v2/cache/nodes/" + image_id, headers=H)
        assert resp.status_code == 200, resp.text
        assert resp.json == ["http://node-1:9292"]
        assert resp.headers["Content-Type"].startswith("application/json")
        other = client.post("/v2/images", json={}, headers=H).json["id"]
        assert client.get("/v2/cache/nodes/" + other, headers=H).json == []
        missing = str(uuid.uuid4())
        resp = client.get("/v2/cache/nodes/" + missing, headers=H)
        assert resp.status_code == 404
        assert "Image %s not found." % missing in resp.text
        assert client.delete("/v2/cache/" + image_id,
                             headers=H).status_code == 204
        assert client.get("/v2/cache/nodes/" + image_id, headers=H).json == []
    finally:
        engine.db.dispose()


def test_per_node_drivers_answer_409_before_the_image_is_looked_up(
        tmp_path):
    client, engine = _app(tmp_path, **{
        "DEFAULT.image_cache_driver": "sqlite",
        "DEFAULT.worker_self_reference_url": "http://node-1:9292"})
    try:
        image_id = _cached_image(client)
        for target in (image_id, str(uuid.uuid4())):
            resp = client.get("/v2/cache/nodes/" + target, headers=H)
            assert resp.status_code == 409
            assert "Centralized caching is not enabled" in resp.text
        assert engine.cache.registry is None
    finally:
        engine.db.dispose()


def test_centralized_db_without_a_node_url_is_said_once(tmp_path, caplog):
    """Glance refuses to start; Glare caches as usual, logs once what that
    means, and never lists this node."""
    from glare import app as glare_app
    glare_app._WARNED_NO_SELF_URL.clear()
    client, engine = _app(tmp_path)
    try:
        image_id = _cached_image(client)
        assert engine.cache.is_cached(image_id)
        assert client.get("/v2/cache/nodes/" + image_id, headers=H).json == []
    finally:
        engine.db.dispose()
    warnings = [r.getMessage() for r in caplog.records
                if "worker_self_reference_url" in r.getMessage()]
    assert len(warnings) == 1
    assert "GET /v2/cache/nodes/{image_id} never lists it" in warnings[0]


@pytest.mark.parametrize("url", ["node-1:9292", "ftp://node-1/",
                                 "http://" + "n" * 250, "http://"])
def test_a_node_url_that_cannot_name_a_node_is_refused_at_start(url):
    from glare import config
    with pytest.raises(config.ConfigError) as exc:
        config.load(overrides={"DEFAULT.worker_self_reference_url": url})
    assert "worker_self_reference_url" in str(exc.value)
