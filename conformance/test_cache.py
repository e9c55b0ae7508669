"""The image cache: /v2/cache (v2.14-v2.18) and downloads through it.

Run with an image cache on the endpoint (``python -m conformance.run
glance|glare --cache``: ``image_cache_dir`` set, Glance with its ``cache``
filter); elsewhere these checks skip, except the one that pins the answer
of a site without a cache.  Errors are asked for in text/plain (no Accept)
and compared byte for byte.
"""

import time
import uuid

import pytest
import requests

from conformance.client import unique
from conformance.report import CACHE_SKIP
from conformance.test_errors import plain

NO_ACCEPT = {"Accept": None}
DATA = b"0123456789"
ENTRY_KEYS = ["id", "image_id", "last_accessed", "last_modified", "size",
              "hits", "checksum"]


@pytest.fixture
def cached(image_cache, member, admin):
    """An active private image of project A, downloaded once (so cached)."""
    image = member.create_active(DATA, name=unique("cache"))
    resp = member.get("/v2/images/%s/file" % image["id"])
    assert resp.content == DATA
    return image


def _state(admin):
    resp = admin.get("/v2/cache")
    assert resp.status_code == 200, resp.text
    return resp.json()


def _cached_ids(admin):
    return [e["image_id"] for e in _state(admin)["cached_images"]]


def _check(resp, code, message):
    assert resp.status_code == code, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert resp.text == plain(code, message)


def _empty(resp, code):
    assert resp.status_code == code, (resp.status_code, resp.text)
    assert resp.content == b""
    assert resp.headers["Content-Type"] == "text/html; charset=UTF-8"


def test_without_a_cache_the_api_is_not_supported(request, admin, member):
    """Glance without image_cache_dir: the cache rule is checked first (a
    member gets 403), then an admin gets 404 'Caching via API is not
    supported at this site.'"""
    if request.config.getoption("--cache"):
        pytest.skip("%s this endpoint has a cache" % CACHE_SKIP)
    _check(admin.get("/v2/cache", headers=NO_ACCEPT), 404,
           "Caching via API is not supported at this site.")
    _check(member.get("/v2/cache", headers=NO_ACCEPT), 403,
           "You are not authorized to complete cache_list action.")


def test_versions_with_a_cache_advertise_2_18_current(image_cache, setup):
    """Glance with image_cache_dir: v2.18 is CURRENT and v2.14 and v2.16
    (the cache API and its 202 queueing) are advertised."""
    resp = requests.get(setup.endpoint.rstrip("/") + "/versions",
                        timeout=30)
    versions = {v["id"]: v["status"] for v in resp.json()["versions"]}
    assert versions.get("v2.18") == "CURRENT"
    assert versions.get("v2.16") == versions.get("v2.14") == "SUPPORTED"


def test_cache_state_lists_a_downloaded_image(cached, admin):
    """GET /v2/cache (admin): {"cached_images": [...], "queued_images":
    [...]}; a whole download caches the image, listed with Glance's keys
    (id, image_id, last_accessed, last_modified, size, hits, checksum)."""
    state = _state(admin)
    assert list(state) == ["cached_images", "queued_images"]
    [entry] = [e for e in state["cached_images"]
               if e["image_id"] == cached["id"]]
    assert list(entry) == ENTRY_KEYS
    assert entry["size"] == len(DATA)
    assert isinstance(entry["hits"], int)
    assert isinstance(entry["last_accessed"], float)


def test_cached_image_downloads_whole_and_ranged(cached, member):
    """Downloads of a cached image answer as without the cache: 200 with
    the data and Content-MD5, 206 with the requested bytes."""
    whole = member.get("/v2/images/%s/file" % cached["id"])
    assert whole.status_code == 200 and whole.content == DATA
    assert whole.headers["Content-MD5"] == cached["checksum"]
    part = member.get("/v2/images/%s/file" % cached["id"],
                      headers={"Range": "bytes=2-4"})
    assert part.status_code == 206 and part.content == DATA[2:5]


def test_member_may_not_manage_the_cache(cached, member):
    """Every cache rule is admin-only: a project member gets 403 'You are
    not authorized to complete <rule> action.'"""
    image_id = cached["id"]
    for method, path, rule in (
            ("get", "/v2/cache", "cache_list"),
            ("delete", "/v2/cache", "cache_delete"),
            ("put", "/v2/cache/" + image_id, "cache_image"),
            ("delete", "/v2/cache/" + image_id, "cache_delete"),
            ("post", "/v2/cache/clean", "cache_clean"),
            ("post", "/v2/cache/prune", "cache_prune"),
            ("get", "/v2/cache/nodes/" + image_id, "list_cached_nodes")):
        resp = getattr(member, method)(path, headers=NO_ACCEPT)
        _check(resp, 403, "You are not authorized to complete %s action."
               % rule)


@pytest.mark.glance_deviation(
    "Glance answers 403 (cache_delete) when another project's private "
    "image is cached and 404 when it is not, which tells a tenant that an "
    "image it cannot see exists and is cached; Glare answers 404 either "
    "way unless the caller may manage the cache")
def test_other_project_cannot_probe_cached_images(cached, member_b):
    """A member of another project: PUT and DELETE /v2/cache/{id} of a
    private image it cannot see are 404 'Image <id> not found.', cached or
    not, like an id that does not exist."""
    for image_id in (cached["id"], str(uuid.uuid4())):
        for method in ("put", "delete"):
            resp = getattr(member_b, method)("/v2/cache/" + image_id,
                                             headers=NO_ACCEPT)
            _check(resp, 404, "Image %s not found." % image_id)


def test_queue_errors(image_cache, admin, member):
    """PUT /v2/cache/{id}: 404 'Image <id> not found.' for an unknown id,
    400 'Only images with status active can be targeted for queueing' for
    a queued image, 400 'Malformed JSON in request body.' for a body that
    is not JSON."""
    missing = str(uuid.uuid4())
    _check(admin.put("/v2/cache/" + missing, headers=NO_ACCEPT), 404,
           "Image %s not found." % missing)
    queued = member.create_image(disk_format="raw", container_format="bare")
    _check(admin.put("/v2/cache/" + queued["id"], headers=NO_ACCEPT), 400,
           "Only images with status active can be targeted for queueing")
    _check(admin.put("/v2/cache/" + queued["id"], data=b"x",
                     headers=NO_ACCEPT), 400,
           "Malformed JSON in request body.")


def test_queue_is_202_and_the_image_gets_cached(image_cache, admin, member):
    """PUT /v2/cache/{id} of an active image: 202 with an empty body; the
    image is fetched into the cache in the background and leaves the
    queue."""
    image = member.create_active(DATA, name=unique("queue"))
    _empty(admin.put("/v2/cache/" + image["id"]), 202)
    deadline = time.time() + 20
    while image["id"] not in _cached_ids(admin):
        assert time.time() < deadline, _state(admin)
        time.sleep(0.3)
    assert image["id"] not in _state(admin)["queued_images"]


def test_delete_entry_and_clear(cached, admin):
    """DELETE /v2/cache/{id}: 204; an id neither cached nor an image: 404
    'Image <id> not found.'; DELETE /v2/cache with
    x-image-cache-clear-target other than cache, queue or empty: 400; then
    204."""
    _empty(admin.delete("/v2/cache/" + cached["id"]), 204)
    assert cached["id"] not in _cached_ids(admin)
    missing = str(uuid.uuid4())
    _check(admin.delete("/v2/cache/" + missing, headers=NO_ACCEPT), 404,
           "Image %s not found." % missing)
    _check(admin.delete("/v2/cache", headers=dict(
        NO_ACCEPT, **{"x-image-cache-clear-target": "both"})), 400,
        "If provided 'x-image-cache-clear-target' must be 'cache', 'queue' "
        "or empty string.")
    for target in ("queue", "cache", ""):
        _empty(admin.delete("/v2/cache", headers={
            "x-image-cache-clear-target": target}), 204)
    _empty(admin.delete("/v2/cache"), 204)
    assert _state(admin)["cached_images"] == []


def test_deleted_image_leaves_the_cache(cached, admin, member):
    """Deleting a cached image removes it from the cache listing; its data
    is no longer served."""
    assert member.delete("/v2/images/" + cached["id"]).status_code == 204
    assert cached["id"] not in _cached_ids(admin)
    assert member.get("/v2/images/%s/file" % cached["id"]).status_code \
        == 404


def test_deactivated_cached_image_is_not_served_to_members(cached, admin,
                                                           member):
    """A deactivated cached image stays listed; members get the 403 of a
    deactivated image, admins its data."""
    path = "/v2/images/%s/file" % cached["id"]
    assert admin.post("/v2/images/%s/actions/deactivate"
                      % cached["id"]).status_code == 204
    assert cached["id"] in _cached_ids(admin)
    _check(member.get(path, headers=NO_ACCEPT), 403,
           "The requested image has been deactivated. Image data download "
           "is forbidden.")
    assert admin.get(path).content == DATA


def test_clean_and_prune(image_cache, admin):
    """POST /v2/cache/clean: 200, empty body; POST /v2/cache/prune: 200
    {"total_files_pruned": n, "total_bytes_pruned": n} (v2.18)."""
    _empty(admin.post("/v2/cache/clean"), 200)
    resp = admin.post("/v2/cache/prune")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert list(resp.json()) == ["total_files_pruned", "total_bytes_pruned"]


def test_other_methods_on_clean_and_prune_are_405(image_cache, admin):
    """DELETE/PUT/GET /v2/cache/clean (and prune) are Glance's 405 with
    Allow: POST, not a cache entry named 'clean'."""
    for action in ("clean", "prune"):
        for method in ("delete", "put", "get"):
            resp = getattr(admin, method)("/v2/cache/" + action,
                                          headers=NO_ACCEPT)
            assert resp.status_code == 405, (method, action, resp.text)
            assert resp.headers["Allow"] == "POST"


def test_cached_nodes(cached, admin):
    """GET /v2/cache/nodes/{id} with Glance's default centralized_db
    driver: 200 with the list of node URLs caching the image; 404 'Image
    <id> not found.' for an unknown image."""
    resp = admin.get("/v2/cache/nodes/" + cached["id"])
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json(), list) and len(resp.json()) == 1
    missing = str(uuid.uuid4())
    _check(admin.get("/v2/cache/nodes/" + missing, headers=NO_ACCEPT), 404,
           "Image %s not found." % missing)
