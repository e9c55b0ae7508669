"""artifacts.api.errors: one JSON error format for the whole API, whatever
raised it (engine, router, parser or a bug)."""

import uuid

import pytest

from artifacts import errors
from artifacts.api import errors as api_errors


def body(resp, status):
    assert resp.status_code == status
    assert resp.headers["Content-Type"] == "application/json"
    assert set(resp.json) == {"error"}
    assert set(resp.json["error"]) == {"code", "title", "message"}
    assert resp.json["error"]["code"] == status
    return resp.json["error"]


def test_owns_only_the_artifact_api():
    assert api_errors.owns("/artifacts")
    assert api_errors.owns("/artifacts/files/x")
    assert not api_errors.owns("/artifactsx")
    assert not api_errors.owns("/v2/images")


def test_engine_errors(api):
    err = body(api.get("/artifacts/files/%s" % uuid.uuid4()), 404)
    assert err["title"] == "Not Found" and "No file found" in \
        err["message"]


def test_router_errors(api):
    assert body(api.get("/artifacts/files/a/b/c/d/e/f/g/h"), 404)[
        "title"] == "Not Found"
    resp = api.open("PATCH", "/artifacts/schemas")
    assert body(resp, 405)["message"].startswith("Method PATCH")
    assert "GET" in resp.headers["Allow"]


def test_unexpected_errors_are_500_without_details(api, glare,
                                                   monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret detail")
    monkeypatch.setattr(glare.engine, "get", boom)
    err = body(api.get("/artifacts/files/%s" % uuid.uuid4()), 500)
    assert "secret" not in err["message"]


@pytest.mark.parametrize("exc, status", [
    (errors.Conflict("busy"), 409),
    (errors.StoreUnavailable("down"), 503),
    (errors.RangeNotSatisfiable("no", Content_Range="bytes */3"), 416),
])
def test_statuses_and_headers(api, glare, monkeypatch, exc, status):
    def fail(*args, **kwargs):
        raise exc
    monkeypatch.setattr(glare.engine, "get", fail)
    resp = api.get("/artifacts/files/%s" % uuid.uuid4())
    assert body(resp, status)["message"] == exc.message
    if exc.headers:
        assert resp.headers["Content-Range"] == "bytes */3"
