"""The image cache through a real Glare (2 gunicorn workers) whose images
live in S3 (moto in server mode on 127.0.0.1), on every database of the
matrix: glanceclient's cache-* commands, downloads served from the cache
(proven by stopping S3), Range from the cache, eviction past
image_cache_max_size, queueing with the prefetcher, invalidation on delete,
and tenants probing the cache (404, nothing leaks; admin-only policy).
Tests run in file order; the last one stops S3.
"""

import hashlib
import html
import logging
import os
import subprocess
import sys
import time
import uuid

import pytest
import requests

from tests.conftest import database_url, glare_server
from tests.integration.helpers import (ADMIN, create_image, project_headers,
                                       upload)

pytestmark = pytest.mark.integration
moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

GLANCE = os.path.join(os.path.dirname(sys.executable), "glance")
KEYS = {"access_key": "AKIAGLARECACHEKEY", "secret_key": "glare-cache-secret"}
MAX_SIZE = 300_000
SIZE = 120_000          # two images fit, a third evicts the older one
NODE_A, NODE_B = "http://glare-node-a:9292", "http://glare-node-b:9292"


@pytest.fixture(scope="module")
def stack(db_kind, tmp_path_factory):
    """moto + bucket + Glare with an s3 default store and an image cache."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    tmp = tmp_path_factory.mktemp("cache-%s" % db_kind)
    s3 = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0,
                                        verbose=False)
    s3.start()
    host, port = s3.get_host_and_port()
    endpoint = "http://%s:%d" % (host, port)
    bucket = "glare-cache-%s" % uuid.uuid4().hex[:12]
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id=KEYS["access_key"],
                 aws_secret_access_key=KEYS["secret_key"]
                 ).create_bucket(Bucket=bucket)
    cache_dir = tmp / "cache"
    # Glance's default driver (centralized_db), this node named.
    extra = ("enabled_backends = cold:s3\nimage_cache_dir = %s\n"
             "image_cache_max_size = %d\nworker_self_reference_url = %s\n"
             % (cache_dir, MAX_SIZE, NODE_A))
    sections = ("\n[glance_store]\ndefault_backend = cold\n[cold]\n"
                "s3_store_host = %s\ns3_store_bucket = %s\n"
                "s3_store_access_key = %s\ns3_store_secret_key = %s\n"
                % (endpoint, bucket, KEYS["access_key"], KEYS["secret_key"]))
    state = {"s3": s3, "stopped": False}
    try:
        with database_url(db_kind, tmp) as url:
            with glare_server(tmp, url, extra_conf=extra,
                              extra_sections=sections) as srv:
                srv.cache_dir = cache_dir
                srv.s3_state = state
                srv.sections = sections
                srv.tmp = tmp
                yield srv
    finally:
        if not state["stopped"]:
            s3.stop()


@pytest.fixture(scope="module")
def glance(stack, tmp_path_factory):
    env = dict(os.environ, HOME=str(tmp_path_factory.mktemp("home")))
    for name in [n for n in env if n.startswith("OS_")]:
        del env[name]

    def run(*args, check=True):
        proc = subprocess.run([GLANCE, "--os-image-url", stack.url,
                               "--os-auth-token", "x"] + list(args),
                              env=env, capture_output=True, text=True,
                              timeout=60)
        if check:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc
    return run


def new_image(url, data, headers=None, **body):
    image = create_image(url, headers=headers or ADMIN, **body)
    assert upload(url, image["id"], data, headers).status_code == 204
    return image["id"]


def download(url, image_id, headers=None, **extra):
    return requests.get(url + "/v2/images/%s/file" % image_id,
                        headers=dict(headers or ADMIN, **extra), timeout=60)


def state(url, headers=None):
    resp = requests.get(url + "/v2/cache", headers=headers or ADMIN,
                        timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def cached_ids(url):
    return {e["image_id"] for e in state(url)["cached_images"]}


def test_versions_advertise_the_cache_api(stack):
    ids = [v["id"] for v in requests.get(stack.url + "/versions",
                                         timeout=10).json()["versions"]]
    assert {"v2.14", "v2.16", "v2.18"} <= set(ids)


def test_first_download_fills_the_cache_second_is_a_hit(stack, glance):
    data = os.urandom(SIZE)
    image_id = new_image(stack.url, data)
    assert image_id not in cached_ids(stack.url)
    first = download(stack.url, image_id)
    assert first.status_code == 200 and first.content == data
    assert first.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    [entry] = [e for e in state(stack.url)["cached_images"]
               if e["image_id"] == image_id]
    assert entry["size"] == SIZE and entry["hits"] == 0
    second = download(stack.url, image_id)
    assert second.content == data
    assert second.headers["Content-MD5"] == first.headers["Content-MD5"]
    ranged = download(stack.url, image_id, Range="bytes=100-199")
    assert ranged.status_code == 206 and ranged.content == data[100:200]
    assert ranged.headers["Content-Range"] == "bytes 100-199/%d" % SIZE
    hits = [e["hits"] for e in state(stack.url)["cached_images"]
            if e["image_id"] == image_id]
    assert hits == [2]
    listing = glance("cache-list").stdout
    assert image_id in listing


def test_a_range_request_does_not_fill_the_cache(stack):
    data = os.urandom(1000)
    image_id = new_image(stack.url, data)
    resp = download(stack.url, image_id, Range="bytes=0-9")
    assert resp.status_code == 206 and resp.content == data[:10]
    assert image_id not in cached_ids(stack.url)


def test_eviction_past_max_size_drops_the_least_recently_used(stack, glance):
    glance("cache-clear")
    a, b, c = (os.urandom(SIZE) for _ in range(3))
    ids = [new_image(stack.url, d) for d in (a, b, c)]
    download(stack.url, ids[0])
    download(stack.url, ids[1])
    assert set(ids[:2]) <= cached_ids(stack.url)
    assert download(stack.url, ids[0]).content == a  # a is now the newer
    assert download(stack.url, ids[2]).content == c
    now = cached_ids(stack.url)
    assert ids[0] in now and ids[2] in now and ids[1] not in now
    total = sum(e["size"] for e in state(stack.url)["cached_images"])
    assert total <= MAX_SIZE
    files = [p for p in stack.cache_dir.iterdir() if p.is_file()
             and p.name not in ("cache.db", "cache.db-wal", "cache.db-shm")]
    assert sorted(p.name for p in files) == sorted(now)


def test_queue_with_glanceclient_and_the_prefetcher_fills_it(stack, glance):
    glance("cache-clear")
    data = os.urandom(5000)
    image_id = new_image(stack.url, data)
    glance("cache-queue", image_id)
    deadline = time.time() + 20
    while image_id not in cached_ids(stack.url):
        assert time.time() < deadline, state(stack.url)
        time.sleep(0.2)
    assert image_id not in state(stack.url)["queued_images"]
    glance("cache-delete", image_id)
    assert image_id not in cached_ids(stack.url)


def test_clear_targets_and_the_400(stack, glance):
    queued = new_image(stack.url, b"q" * 10)
    cached = new_image(stack.url, b"c" * 10)
    download(stack.url, cached)
    # Queue without the prefetcher racing: the image is cached already,
    # so queue the other through the API and clear the queue at once.
    resp = requests.put(stack.url + "/v2/cache/" + queued, headers=ADMIN,
                        timeout=10)
    assert resp.status_code == 202 and resp.content == b""
    glance("cache-clear", "--target", "cache")
    assert cached not in cached_ids(stack.url)
    bad = requests.delete(stack.url + "/v2/cache", timeout=10, headers=dict(
        ADMIN, **{"x-image-cache-clear-target": "both"}))
    assert bad.status_code == 400
    assert ("If provided 'x-image-cache-clear-target' must be 'cache', "
            "'queue' or empty string.") in html.unescape(bad.text)
    glance("cache-clear")
    assert state(stack.url) == {"cached_images": [], "queued_images": []}


def test_deleted_image_is_never_served_and_leaves_the_cache(stack):
    data = os.urandom(2000)
    image_id = new_image(stack.url, data)
    download(stack.url, image_id)
    assert image_id in cached_ids(stack.url)
    assert requests.delete(stack.url + "/v2/images/" + image_id,
                           headers=ADMIN, timeout=10).status_code == 204
    assert download(stack.url, image_id).status_code == 404
    assert image_id not in cached_ids(stack.url)
    assert not (stack.cache_dir / image_id).exists()


def test_deactivated_image_is_not_served_to_users(stack):
    tenant = project_headers("proj-deact")
    data = os.urandom(3000)
    image_id = new_image(stack.url, data, headers=tenant)
    assert download(stack.url, image_id, tenant).content == data
    resp = requests.post(stack.url + "/v2/images/%s/actions/deactivate"
                         % image_id, headers=ADMIN, timeout=10)
    assert resp.status_code == 204
    assert download(stack.url, image_id, tenant).status_code == 403
    # Listed still, as in Glance, and never read while deactivated.
    assert image_id in cached_ids(stack.url)


def test_tenants_cannot_probe_or_manage_the_cache(stack):
    owner, other = project_headers("proj-own"), project_headers("proj-other")
    private = new_image(stack.url, b"secret" * 100, headers=owner)
    download(stack.url, private, owner)
    assert private in cached_ids(stack.url)
    # Another tenant: the image does not exist for it, cached or not.
    for method in ("put", "delete"):
        resp = getattr(requests, method)(
            stack.url + "/v2/cache/" + private, headers=other, timeout=10)
        assert resp.status_code == 404, (method, resp.text)
        assert "Image %s not found." % private in resp.text
    missing = str(uuid.uuid4())
    assert requests.delete(stack.url + "/v2/cache/" + missing,
                           headers=other, timeout=10).status_code == 404
    assert download(stack.url, private, other).status_code == 404
    # The owner, a plain member, may not manage the cache (admin only).
    for method, path in (("get", "/v2/cache"), ("delete", "/v2/cache"),
                         ("put", "/v2/cache/" + private),
                         ("delete", "/v2/cache/" + private),
                         ("post", "/v2/cache/prune"),
                         ("post", "/v2/cache/clean"),
                         ("get", "/v2/cache/nodes/" + private)):
        resp = getattr(requests, method)(stack.url + path, headers=owner,
                                         timeout=10)
        assert resp.status_code == 403, (method, path, resp.text)
        assert private not in resp.text
    assert private in cached_ids(stack.url)


def test_admin_clean_prune_and_nodes(stack):
    resp = requests.post(stack.url + "/v2/cache/clean", headers=ADMIN,
                         timeout=10)
    assert resp.status_code == 200 and resp.content == b""
    resp = requests.post(stack.url + "/v2/cache/prune", headers=ADMIN,
                         timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"total_files_pruned": 0, "total_bytes_pruned": 0}
    missing = str(uuid.uuid4())
    resp = requests.get(stack.url + "/v2/cache/nodes/" + missing,
                        headers=ADMIN, timeout=10)
    assert resp.status_code == 404
    assert "Image %s not found." % missing in resp.text


def nodes(url, image_id):
    resp = requests.get(url + "/v2/cache/nodes/" + image_id, headers=ADMIN,
                        timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_centralized_record_names_every_node_that_caches(stack):
    """Two nodes on one database, each with its own cache directory and
    URL (Glance's centralized_db): GET /v2/cache/nodes/{id} on either
    names both once both cached the image; /v2/cache is each node's own;
    a node's eviction leaves the list."""
    data = os.urandom(SIZE)
    image_id = new_image(stack.url, data)
    assert nodes(stack.url, image_id) == []
    assert download(stack.url, image_id).content == data
    assert nodes(stack.url, image_id) == [NODE_A]
    extra = ("enabled_backends = cold:s3\nimage_cache_dir = %s\n"
             "worker_self_reference_url = %s\n"
             % (stack.tmp / "cache-b", NODE_B))
    (stack.tmp / "node-b").mkdir()
    with glare_server(stack.tmp / "node-b", stack.db_url, extra_conf=extra,
                      extra_sections=stack.sections) as node_b:
        assert image_id not in cached_ids(node_b.url)
        assert download(node_b.url, image_id).content == data
        assert image_id in cached_ids(node_b.url)
        for url in (stack.url, node_b.url):
            assert nodes(url, image_id) == [NODE_A, NODE_B]
        assert requests.delete(node_b.url + "/v2/cache/" + image_id,
                               headers=ADMIN, timeout=10).status_code == 204
        assert nodes(stack.url, image_id) == [NODE_A]
        assert image_id in cached_ids(stack.url)


def test_cron_commands(stack):
    glare = [sys.executable, "-m", "glare.cli", "--config", stack.config]
    prune = subprocess.run(glare + ["cache-prune"], capture_output=True,
                           text=True, timeout=60)
    assert prune.returncode == 0, prune.stderr
    assert "Pruned 0 file(s), 0 byte(s)." in prune.stdout
    clean = subprocess.run(glare + ["cache-clean"], capture_output=True,
                           text=True, timeout=60)
    assert clean.returncode == 0, clean.stderr


def test_with_s3_stopped_a_cached_image_is_still_served(stack):
    data = os.urandom(SIZE)
    cached = new_image(stack.url, data)
    uncached = new_image(stack.url, os.urandom(1000))
    assert download(stack.url, cached).content == data
    assert cached in cached_ids(stack.url)
    stack.s3_state["s3"].stop()
    stack.s3_state["stopped"] = True
    again = download(stack.url, cached)
    assert again.status_code == 200 and again.content == data
    assert download(stack.url, cached,
                    Range="bytes=-10").content == data[-10:]
    # Proof that S3 is really gone: an uncached image cannot be read.
    assert download(stack.url, uncached).status_code >= 500
