"""The app when its database is away: every face answers 503 with
Retry-After in its own error format (never a 500 or a traceback), and the
health check says the database is down."""

import pytest
import sqlalchemy as sa
import webob

from glare import app, config
from tests.conftest import ADMIN_URLS, free_port

HEADERS = {"X-Auth-Token": "x", "Accept": "text/plain"}


@pytest.fixture(scope="module")
def wsgi(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("db-away")
    url = sa.engine.make_url(ADMIN_URLS["postgresql"]).set(
        host="127.0.0.1", port=free_port())
    conf = config.load(overrides={
        "database.connection": url.render_as_string(hide_password=False),
        "glance_store.filesystem_store_datadir": str(tmp / "images"),
        "oslo_policy.policy_file": "/nonexistent/policy.yaml"})
    return app.create_app(conf)


def call(wsgi, path, method="GET", body=None):
    req = webob.Request.blank(path, method=method, headers=HEADERS)
    if body is not None:
        req.json_body = body
    return req.get_response(wsgi)


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v2/images", None),
    ("POST", "/v2/images", {"name": "x"}),
    ("GET", "/v2/images/6a0f1b6e-3c55-4e53-9b0d-6c3a2b3f7a10", None),
])
def test_the_image_api_answers_503_with_retry_after(wsgi, method, path,
                                                    body):
    resp = call(wsgi, path, method, body)
    assert resp.status_int == 503
    assert resp.headers["Retry-After"] == "5"
    assert resp.text == ("503 Service Unavailable\n\nThe database is "
                         "unavailable; retry the request in a few seconds."
                         "\n\n   ")


def test_the_artifact_api_answers_503_with_retry_after(wsgi):
    resp = call(wsgi, "/artifacts/files")
    assert resp.status_int == 503
    assert resp.headers["Retry-After"] == "5"
    assert resp.json == {"error": {
        "code": 503, "title": "Service Unavailable",
        "message": "The database is unavailable; retry the request in a "
                   "few seconds."}}


def test_the_health_check_says_the_database_is_down(wsgi):
    resp = call(wsgi, "/healthcheck")
    assert (resp.status_int, resp.text) == (503, "DB unavailable")
