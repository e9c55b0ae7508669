"""Version discovery and URL version negotiation (surface §1)."""

import json

import pytest
import webob

from glance_compat import versions
from glare import config

GLARE_IDS = ["v2.17", "v2.15", "v2.12", "v2.9", "v2.7", "v2.5", "v2.4",
             "v2.3", "v2.2", "v2.1", "v2.0"]


def echo_app(environ, start_response):
    """Downstream app: reports the path it was given."""
    body = json.dumps({"path": environ["PATH_INFO"],
                       "script": environ.get("SCRIPT_NAME", "")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def make_mw(public_endpoint=None, **kwargs):
    overrides = {}
    if public_endpoint:
        overrides["DEFAULT.public_endpoint"] = public_endpoint
    conf = config.load(overrides=overrides)
    return versions.VersionNegotiation(echo_app, conf, **kwargs)


@pytest.fixture(scope="module")
def mw():
    return make_mw()


def call(mw, path, method="GET", **kwargs):
    return webob.Request.blank(path, method=method, **kwargs).get_response(mw)


def ids(resp):
    return [v["id"] for v in resp.json["versions"]]


# --- the table and the document --------------------------------------------

def test_glare_advertises_only_what_it_implements():
    assert versions.advertised_versions() == GLARE_IDS
    assert versions.advertised_versions(versions.GLARE_FEATURES) == GLARE_IDS
    for feature_gated in ("v2.6", "v2.8", "v2.10", "v2.14"):
        assert feature_gated not in GLARE_IDS


def test_multi_store_adds_glances_multi_store_versions():
    """Glance 33 with enabled_backends and no cache: 2.15, 2.13-2.8, 2.17
    and 2.7-2.0; Glare the same."""
    features = (versions.GLARE_FEATURES | versions.MULTI_STORE_FEATURES
                | {"interoperable-import"})
    assert versions.advertised_versions(features) == [
        "v2.17", "v2.15", "v2.13", "v2.12", "v2.11", "v2.10", "v2.9",
        "v2.8", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1",
        "v2.0"]


def test_advertised_versions_follow_features():
    assert versions.advertised_versions({"base"}) == ["v2.0"]
    assert versions.advertised_versions({"base", "location-api"}) == [
        "v2.17", "v2.0"]
    # A minor needs all of its features.
    assert versions.advertised_versions({"base", "os-hidden"}) == ["v2.0"]
    everything = set().union(*versions.MINOR_VERSION_FEATURES.values())
    assert versions.advertised_versions(everything) == [
        "v2.%d" % n for n in range(18, -1, -1)]


def test_document_shape_and_bytes():
    doc = versions.versions_document("http://localhost")
    assert [list(v) for v in doc["versions"]] == [
        ["id", "status", "links"]] * len(GLARE_IDS)
    assert [v["status"] for v in doc["versions"]] == [
        "CURRENT"] + ["SUPPORTED"] * (len(GLARE_IDS) - 1)
    assert json.dumps(doc).startswith(
        '{"versions": [{"id": "v2.17", "status": "CURRENT", "links": '
        '[{"rel": "self", "href": "http://localhost/v2/"}]}, '
        '{"id": "v2.15", "status": "SUPPORTED"')


def test_document_href_joins_base():
    for base in ("https://x/image", "https://x/image/"):
        doc = versions.versions_document(base, ["v2.0"])
        assert doc["versions"][0]["links"] == [
            {"rel": "self", "href": "https://x/image/v2/"}]


# --- discovery responses ----------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_versions_is_200_for_any_method(mw, method):
    resp = call(mw, "/versions", method=method)
    assert resp.status_int == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert ids(resp) == GLARE_IDS
    assert resp.body == json.dumps(
        versions.versions_document("http://localhost")).encode()


@pytest.mark.parametrize("path", ["/", "", "/v3/images", "/images",
                                  "/v2.99/x", "/v2.18/x",
                                  "/v2.14", "/V2/images", "/v2x/images",
                                  "/artifactsfoo"])
def test_other_paths_are_300_with_the_document(mw, path):
    resp = call(mw, path)
    assert resp.status_int == 300
    assert resp.headers["Content-Type"] == "application/json"
    assert ids(resp) == GLARE_IDS
    assert resp.body == call(mw, "/versions").body


def test_glanceclient_has_version_semantics(mw):
    doc = call(mw, "/versions").json["versions"]
    by_id = {v["id"]: v["status"] for v in doc}
    assert by_id["v2.17"] == "CURRENT" and by_id["v2.12"] == "SUPPORTED"
    assert "v2.14" not in by_id


def test_public_endpoint_wins(mw):
    resp = call(make_mw("https://cloud.example/image"), "/")
    assert {v["links"][0]["href"] for v in resp.json["versions"]} == {
        "https://cloud.example/image/v2/"}


def test_href_follows_host_and_script_name(mw):
    resp = call(mw, "/versions", base_url="http://h:9292/image")
    assert resp.json["versions"][0]["links"][0]["href"] == \
        "http://h:9292/image/v2/"
    resp = call(mw, "/", headers={"Host": "other:8080"})
    assert resp.json["versions"][0]["links"][0]["href"] == \
        "http://other:8080/v2/"


# --- routing ----------------------------------------------------------------

@pytest.mark.parametrize("path, expected", [
    ("/v2/images", "/v2/images"),
    ("/v2/", "/v2/"),
    ("/v2.0/images", "/v2/images"),
    ("/v2.1/images/abc/members", "/v2/images/abc/members"),
    ("/v2.7/schemas/image", "/v2/schemas/image"),
    ("//v2/images", "/v2/images"),
])
def test_accepted_tokens_rewrite_to_v2(mw, path, expected):
    resp = call(mw, path)
    assert resp.status_int == 200
    assert resp.json["path"] == expected


def test_rewrite_keeps_script_name(mw):
    resp = call(mw, "/v2.1/images", base_url="http://h/image")
    assert resp.json == {"path": "/v2/images", "script": "/image"}


@pytest.mark.parametrize("path", ["/v2", "/v2.1"])
def test_bare_version_root_redirects(mw, path):
    resp = call(mw, path)
    assert resp.status_int == 302
    assert resp.headers["Location"] == "http://localhost/v2/"
    resp = call(mw, path, base_url="http://h/image")
    assert resp.headers["Location"] == "http://h/image/v2/"


def test_accept_header_selects_version(mw):
    vnd = "application/vnd.openstack.images-"
    resp = call(mw, "/images", headers={"Accept": vnd + "v2.1"})
    assert resp.json["path"] == "/v2/images"
    # Unadvertised or unknown versions get the choices.
    for token in ("v2.14", "v3", "v2.1, */*"):
        resp = call(mw, "/images", headers={"Accept": vnd + token})
        assert resp.status_int == 300
    # As in Glance the header does not pop the path: /v2/x -> /v2/v2/x.
    resp = call(mw, "/v2/images", headers={"Accept": vnd + "v2"})
    assert resp.json["path"] == "/v2/v2/images"


def test_ordinary_accept_headers_use_the_url(mw):
    for accept in ("application/json", "*/*", ""):
        resp = call(mw, "/v2/images", headers={"Accept": accept})
        assert resp.json["path"] == "/v2/images"


@pytest.mark.parametrize("path", ["/healthcheck", "/healthcheck/x",
                                  "/artifacts", "/artifacts/v1/images"])
def test_exempt_prefixes_pass_through(mw, path):
    resp = call(mw, path)
    assert resp.status_int == 200
    assert resp.json["path"] == path


def test_exempt_prefixes_are_configurable():
    mw = make_mw(exempt_prefixes=("/status/",))
    assert call(mw, "/status").json["path"] == "/status"
    assert call(mw, "/healthcheck").status_int == 300


def test_versions_beats_exemption_only_outside_prefixes(mw):
    assert call(mw, "/versions/").status_int == 200
    assert call(mw, "/artifacts/versions").json["path"] == \
        "/artifacts/versions"


def test_feature_set_changes_routing():
    mw = make_mw(features={"base", "location-api"})
    assert ids(call(mw, "/versions")) == ["v2.17", "v2.0"]
    assert call(mw, "/v2.17/images").json["path"] == "/v2/images"
    assert call(mw, "/v2.1/images").status_int == 300


# --- real clients over HTTP -------------------------------------------------

def test_real_clients_discover_and_read_schemas():
    """glanceclient and keystoneauth against schemas + negotiation, served
    over a real socket: /versions must be 200 for glanceclient, the root
    300 for keystoneauth discovery."""
    import threading

    import flask
    import glanceclient
    from glanceclient.common import utils
    from keystoneauth1 import discover, session
    from werkzeug.serving import make_server

    from glance_compat import schemas

    conf = config.load()
    app = flask.Flask("test_versions_e2e")
    schemas.init_app(app, conf)
    app.wsgi_app = versions.VersionNegotiation(app.wsgi_app, conf)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = "http://127.0.0.1:%d" % server.server_port
    try:
        client = glanceclient.Client("2", endpoint=endpoint, token="t")
        assert utils.has_version(client.http_client, "v2.1")
        assert utils.has_version(client.http_client, "v2.17")
        assert utils.has_version(client.http_client, "v2.12")
        image_schema = client.schemas.get("image")
        assert not image_schema.is_base_property("kernel_id")
        assert image_schema.is_base_property("disk_format")
        assert client.schemas.get("member").name == "member"

        found = discover.Discover(session.Session(), endpoint)
        assert [v["version"] for v in found.version_data()] == [
            (2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (2, 5), (2, 7), (2, 9),
            (2, 12), (2, 15), (2, 17)]
        assert found.url_for((2, 0)) == endpoint + "/v2/"
    finally:
        server.shutdown()
