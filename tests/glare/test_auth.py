"""Identity: the token map, embedded mode and keystone mode."""

import datetime
import json
import sys

import pytest
import requests_mock
import webob

from glare import auth, config

PROJECT = "4f5b2c1a9d8e4f7a8b6c5d4e3f2a1b0c"


def seen_app(environ, start_response):
    """Echo the context the middleware built."""
    ctx = environ.get("glare.context")
    body = json.dumps({
        "project_id": ctx.project_id, "user_id": ctx.user_id,
        "roles": list(ctx.roles), "service_roles": list(ctx.service_roles),
        "request_id": ctx.request_id, "auth_token": ctx.auth_token,
        "is_admin": ctx.is_admin, "system_scope": ctx.system_scope,
        "domain_id": ctx.domain_id, "service_catalog": ctx.service_catalog,
        "identity_headers": sorted(
            k for k in environ if k.startswith("HTTP_X_ROLES")
            or k.startswith("HTTP_X_PROJECT")
            or k.startswith("HTTP_X_IDENTITY"))}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def call(app, headers=None, environ=None):
    req = webob.Request.blank("/v2/images", headers=headers or {})
    if environ:
        req.environ.update(environ)
    return req.get_response(app)


# -- parse_token_map ---------------------------------------------------------

def test_parse_token_map():
    parsed = auth.parse_token_map(
        "TOK=PROJECT:USER:Admin, member;TOK2=P2:U2:reader;")
    assert parsed == {"TOK": ("PROJECT", "USER", ("admin", "member")),
                      "TOK2": ("P2", "U2", ("reader",))}
    assert auth.parse_token_map("") == {}
    assert auth.parse_token_map(" ; ") == {}


@pytest.mark.parametrize("text", [
    "TOK", "TOK=P:U", "TOK=P:U:r:x", "=P:U:r", "TOK=:U:r", "TOK=P::r",
    "A=P:U:r;A=P:U:r"])
def test_parse_token_map_rejects_malformed(text):
    with pytest.raises(config.ConfigError) as info:
        auth.parse_token_map(text)
    assert "[noauth] token_map" in str(info.value)


def test_malformed_token_map_fails_at_wrap():
    conf = config.load(overrides={"noauth.token_map": "oops"})
    with pytest.raises(config.ConfigError):
        auth.wrap(seen_app, conf)


# -- embedded mode -----------------------------------------------------------

@pytest.fixture
def embedded():
    """Embedded mode with a token map: the token alone decides."""
    conf = config.load(overrides={
        "noauth.token_map": "tok-a=proj-a:user-a:Member,reader;"
                            "tok-r=proj-r:user-r:reader"})
    return auth.wrap(seen_app, conf)


@pytest.fixture
def open_embedded():
    """The embedded default: no token map, identity headers trusted."""
    return auth.wrap(seen_app, config.load())


@pytest.fixture
def untrusting():
    return auth.wrap(seen_app, config.load(overrides={
        "noauth.trust_identity_headers": False}))


SPOOF = {"X-Identity-Status": "Confirmed", "X-Project-Id": "evil",
         "X-Tenant-Id": "evil", "X-User-Id": "evil", "X-Roles": "admin"}


def test_default_identity_is_admin(open_embedded):
    body = call(open_embedded, {"X-Auth-Token": "x"}).json
    assert body["project_id"] == "glare-project"
    assert body["user_id"] == "glare-user"
    assert body["roles"] == ["admin", "member", "reader"]
    assert body["is_admin"] is True
    assert body["auth_token"] == "x"
    # No token at all: the same easy path.
    assert call(open_embedded).json["project_id"] == "glare-project"


def test_token_map_identity(embedded):
    body = call(embedded, {"X-Auth-Token": "tok-a"}).json
    assert (body["project_id"], body["user_id"]) == ("proj-a", "user-a")
    assert body["roles"] == ["member", "reader"]
    assert body["is_admin"] is False
    body = call(embedded, {"X-Auth-Token": "tok-r"}).json
    assert body["roles"] == ["reader"]


@pytest.mark.parametrize("headers", [
    {}, {"X-Auth-Token": "x"}, {"X-Auth-Token": ""},
    {"X-Auth-Token": "tok-a "}, {"X-Auth-Token": "TOK-A"},
    dict(SPOOF), dict(SPOOF, **{"X-Auth-Token": "unknown"})])
def test_token_map_refuses_unlisted_tokens(embedded, headers):
    resp = call(embedded, headers)
    assert resp.status_int == 401
    assert resp.body.startswith(b"401 Unauthorized")


def test_token_map_refusal_on_the_artifact_api_is_json(embedded):
    resp = webob.Request.blank("/artifacts/files").get_response(embedded)
    assert resp.status_int == 401
    assert resp.json["error"]["code"] == 401


def test_headers_never_override_a_mapped_token(embedded):
    body = call(embedded, dict(SPOOF, **{
        "X-Auth-Token": "tok-r", "X-Service-Roles": "service"})).json
    assert (body["project_id"], body["user_id"]) == ("proj-r", "user-r")
    assert body["roles"] == ["reader"]
    assert body["service_roles"] == []
    assert body["is_admin"] is False
    # ... and they are gone from what the application sees.
    assert body["identity_headers"] == []


def test_confirmed_headers_are_trusted_without_a_token_map(open_embedded):
    body = call(open_embedded, {
        "X-Identity-Status": "Confirmed", "X-Tenant-Id": "t1",
        "X-User-Id": "u1", "X-Roles": " Reader ,member,,",
        "X-Service-Roles": "service", "X-Auth-Token": "x"}).json
    assert body["project_id"] == "t1"
    assert body["user_id"] == "u1"
    assert body["roles"] == ["reader", "member"]
    assert body["service_roles"] == ["service"]
    body = call(open_embedded, {"X-Identity-Status": "Confirmed",
                                "X-Project-Id": "p1",
                                "X-Tenant-Id": "t1"}).json
    assert body["project_id"] == "p1"


@pytest.mark.parametrize("status", [
    "Invalid", "confirmed", "CONFIRMED", " Confirmed", "Confirmed ", "",
    "Confirmed,Confirmed"])
def test_unconfirmed_identity_status_is_401(open_embedded, status):
    """keystonemiddleware sets exactly 'Confirmed' or 'Invalid'; anything
    but 'Confirmed' is a caller whose token was not confirmed (Glance's
    context middleware answers it 401), never the default admin."""
    resp = call(open_embedded, dict(SPOOF, **{"X-Identity-Status": status}))
    assert resp.status_int == 401


def test_untrusted_headers_are_dropped(untrusting):
    body = call(untrusting, dict(SPOOF, **{"X-Auth-Token": "x"})).json
    assert body["project_id"] == "glare-project"
    assert body["identity_headers"] == []
    body = call(untrusting, dict(SPOOF, **{"X-Identity-Status":
                                           "Invalid"})).json
    assert body["project_id"] == "glare-project"


def test_scope_headers_reach_the_context(open_embedded):
    body = call(open_embedded, {"X-Identity-Status": "Confirmed",
                                "X-User-Id": "u1", "X-Roles": "admin",
                                "OpenStack-System-Scope": "all"}).json
    assert body["project_id"] is None
    assert body["system_scope"] == "all"
    body = call(open_embedded, {"X-Identity-Status": "Confirmed",
                                "X-User-Id": "u1", "X-Roles": "admin",
                                "X-System-Scope": "all"}).json
    assert body["system_scope"] == "all"
    body = call(open_embedded, {"X-Identity-Status": "Confirmed",
                                "X-User-Id": "u1", "X-Roles": "admin",
                                "X-Domain-Id": "default"}).json
    assert (body["domain_id"], body["project_id"]) == ("default", None)


def test_service_catalog_reaches_the_context(open_embedded):
    """keystonemiddleware's X-Service-Catalog (glance-download's endpoint
    lookup); absent, not JSON or not a JSON list: no catalog."""
    catalog = [{"type": "image", "endpoints": [
        {"region": "RegionTwo", "publicURL": "http://g2:9292"}]}]
    confirmed = {"X-Identity-Status": "Confirmed", "X-User-Id": "u1",
                 "X-Project-Id": "p1", "X-Roles": "member"}
    body = call(open_embedded, dict(confirmed, **{
        "X-Service-Catalog": json.dumps(catalog)})).json
    assert body["service_catalog"] == catalog
    # Nested deeper than the JSON decoder goes: no catalog, not a 500.
    for bad in ("{not json", '{"type": "image"}', "[" * 3000 + "]" * 3000):
        body = call(open_embedded, dict(confirmed,
                                        **{"X-Service-Catalog": bad})).json
        assert body["service_catalog"] is None
    assert call(open_embedded, confirmed).json["service_catalog"] is None


@pytest.mark.parametrize("overrides,expected", [
    ({}, 0),
    ({"DEFAULT.bind_host": "::1"}, 0),
    ({"DEFAULT.bind_host": "0.0.0.0"}, 2),
    ({"DEFAULT.bind_host": "192.0.2.10"}, 2),
    ({"DEFAULT.bind_host": "0.0.0.0",
      "noauth.trust_identity_headers": False}, 1),
    ({"DEFAULT.bind_host": "0.0.0.0", "noauth.token_map": "t=p:u:member"},
     0),
    ({"DEFAULT.bind_host": "0.0.0.0", "paste_deploy.flavor": "keystone"},
     0),
])
def test_insecure_listen_warnings(overrides, expected):
    warnings = auth.insecure_listen_warnings(config.load(
        overrides=overrides))
    assert len(warnings) == expected
    for warning in warnings:
        assert warning.startswith("INSECURE")
        assert overrides["DEFAULT.bind_host"] in warning


def test_request_id_comes_from_environ(open_embedded):
    body = call(open_embedded,
                environ={"openstack.request_id": "req-abc"}).json
    assert body["request_id"] == "req-abc"
    # Without the RequestId middleware one is made up.
    assert call(open_embedded).json["request_id"].startswith("req-")


@pytest.mark.parametrize("flavor,keystone", [
    ("", False), ("caching", False), ("cachemanagement", False),
    ("keystone", True), ("keystone+caching", True),
    ("keystone+cachemanagement", True)])
def test_each_of_glances_stock_flavors_starts_in_its_auth_mode(
        tmp_path, flavor, keystone):
    """Glance's glance-api-paste.ini names six pipelines (its comments
    show flavor = keystone+caching for keystone with the cache); a
    glance-api.conf naming any of them starts Glare, keystonemiddleware
    in front exactly when the name starts with "keystone"."""
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text("[paste_deploy]\nflavor = %s\n" % flavor)
    conf = config.load(str(conf_file))
    assert config.uses_keystone(conf) is keystone
    app = auth.wrap(seen_app, conf)
    assert (type(app).__name__ == "AuthProtocol") is keystone


def test_a_memcached_token_cache_without_its_library_stops_the_start(
        tmp_path, monkeypatch):
    """devstack's [keystone_authtoken] memcached_servers: with
    python-memcached (the keystone extra) Glare starts; without it the
    start fails naming the option, instead of a 500 at the first token."""
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text("[paste_deploy]\nflavor = keystone\n"
                         "[keystone_authtoken]\n"
                         "memcached_servers = localhost:11211\n")
    conf = config.load(str(conf_file))
    assert type(auth.wrap(seen_app, conf)).__name__ == "AuthProtocol"
    monkeypatch.setitem(sys.modules, "memcache", None)   # not installed
    with pytest.raises(config.ConfigError, match="memcached_servers"):
        auth.wrap(seen_app, conf)


# -- keystone mode -----------------------------------------------------------

KEYSTONE = "http://keystone.test:5000"


@pytest.fixture
def keystone_tokens(monkeypatch):
    """Token id -> token body, served instead of asking Keystone.

    The same substitution keystonemiddleware.fixture.AuthTokenFixture
    makes (it replaces AuthProtocol.fetch_token), without needing the
    ``fixtures`` package.
    """
    from keystonemiddleware import auth_token
    from keystonemiddleware.auth_token import _exceptions

    tokens = {}

    def fetch_token(self, token, **kwargs):
        if token in tokens:
            return tokens[token]
        raise _exceptions.InvalidToken()

    monkeypatch.setattr(auth_token.AuthProtocol, "fetch_token", fetch_token)
    return tokens


def v3_token(project_id, roles, user_id="user-1", expires=None,
             scope="project"):
    """A Keystone v3 token validation body (what GET /v3/auth/tokens says),
    scoped to ``project_id``, or to the system or the default domain
    (``scope``).

    Built by hand: keystoneauth1.fixture would need the ``fixtures``
    package.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    expires = expires or now + datetime.timedelta(hours=1)
    domain = {"id": "default", "name": "Default"}
    token = {
        "methods": ["password"],
        "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        "user": {"id": user_id, "name": "alice", "domain": domain},
        "roles": [{"id": "r-" + r, "name": r} for r in roles],
        "catalog": [],
    }
    if scope == "system":
        token["system"] = {"all": True}
    elif scope == "domain":
        token["domain"] = domain
    else:
        token["project"] = {"id": project_id, "name": "demo",
                            "domain": domain}
    return {"token": token}


@pytest.fixture
def keystone_app(tmp_path, keystone_tokens):
    conf_file = tmp_path / "glare.conf"
    conf_file.write_text(
        "[paste_deploy]\nflavor = keystone\n"
        "[keystone_authtoken]\n"
        "www_authenticate_uri = %s\n"
        "auth_url = %s\n"
        "auth_type = password\n"
        "username = glance\npassword = secret\nproject_name = service\n"
        "user_domain_name = Default\nproject_domain_name = Default\n"
        "memcached_servers =\n" % (KEYSTONE, KEYSTONE))
    conf = config.load(str(conf_file))
    app = auth.wrap(seen_app, conf)
    # Nothing may reach the network: an unexpected call fails the test.
    with requests_mock.Mocker():
        yield app


def test_keystone_valid_token(keystone_app, keystone_tokens):
    keystone_tokens["good"] = v3_token(PROJECT, ["Member", "reader"])
    resp = call(keystone_app, {"X-Auth-Token": "good"},
                environ={"openstack.request_id": "req-1"})
    assert resp.status_int == 200
    body = resp.json
    assert body["project_id"] == PROJECT
    assert body["user_id"] == "user-1"
    assert sorted(body["roles"]) == ["member", "reader"]
    assert body["is_admin"] is False
    assert body["request_id"] == "req-1"


def test_keystone_invalid_token_is_401(keystone_app):
    resp = call(keystone_app, {"X-Auth-Token": "bad"})
    assert resp.status_int == 401
    assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert resp.body.startswith(
        b"401 Unauthorized\n\nThis server could not verify that you are "
        b"authorized to access the document you requested.")
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="%s"' % KEYSTONE


def test_keystone_missing_token_is_401_json(keystone_app):
    resp = call(keystone_app, {"Accept": "application/json"})
    assert resp.status_int == 401
    assert resp.json["title"] == "Unauthorized"
    assert "WWW-Authenticate" in resp.headers


def test_keystone_expired_token_is_401(keystone_app, keystone_tokens):
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
        hours=1)
    keystone_tokens["old"] = v3_token(PROJECT, ["admin"], expires=past)
    assert call(keystone_app, {"X-Auth-Token": "old"}).status_int == 401


def test_keystone_spoofed_headers_not_trusted(keystone_app, keystone_tokens):
    spoof = {"X-Identity-Status": "Confirmed", "X-Project-Id": "evil",
             "X-Tenant-Id": "evil", "X-User-Id": "evil", "X-Roles": "admin"}
    resp = call(keystone_app, dict(spoof, **{"X-Auth-Token": "bad"}))
    assert resp.status_int == 401
    # With a valid reader token the spoofed admin role is dropped.
    keystone_tokens["reader"] = v3_token(PROJECT, ["reader"])
    body = call(keystone_app, dict(spoof, **{"X-Auth-Token": "reader"})).json
    assert body["project_id"] == PROJECT
    assert body["roles"] == ["reader"]
    assert body["is_admin"] is False


def mock_keystone(mock, valid):
    """Serve Keystone v3 at KEYSTONE on a requests_mock ``mock``: version
    discovery, the service's own token (password auth) and validation of
    the tokens in ``valid`` (token id -> body; any other is 404)."""
    own_token = v3_token("service-project", ["admin", "service"])
    own_token["token"]["catalog"] = [{
        "type": "identity", "name": "keystone",
        "endpoints": [{"id": i, "interface": i, "region": "RegionOne",
                       "url": KEYSTONE + "/v3"}
                      for i in ("public", "internal", "admin")]}]
    version = {"version": {"id": "v3.14", "status": "stable",
                           "media-types": [],
                           "links": [{"rel": "self",
                                      "href": KEYSTONE + "/v3/"}]}}

    def validate(request, context):
        body = valid.get(request.headers.get("X-Subject-Token"))
        if body is None:
            context.status_code = 404
            return {"error": {"code": 404, "message": "Not found"}}
        return body

    mock.get(KEYSTONE + "/v3", json=version)
    mock.post(KEYSTONE + "/v3/auth/tokens", json=own_token,
              status_code=201, headers={"X-Subject-Token": "glance-tok"})
    mock.get(KEYSTONE + "/v3/auth/tokens", json=validate)


def test_keystone_end_to_end_with_a_mocked_keystone(tmp_path):
    """No shortcut: auth_token discovers Keystone, gets its own service
    token and validates the caller's token over (mocked) HTTP, all
    configured from [keystone_authtoken] in our config file."""
    conf_file = tmp_path / "glare.conf"
    conf_file.write_text(
        "[paste_deploy]\nflavor = keystone\n"
        "[keystone_authtoken]\n"
        "www_authenticate_uri = %s\nauth_url = %s/v3\nauth_type = password\n"
        "username = glance\npassword = secret\nproject_name = service\n"
        "user_domain_name = Default\nproject_domain_name = Default\n"
        % (KEYSTONE, KEYSTONE))
    app = auth.wrap(seen_app, config.load(str(conf_file)))
    valid = {"user-tok": v3_token(PROJECT, ["member", "reader"]),
             "svc-tok": v3_token("nova-project", ["service"],
                                 user_id="nova")}
    with requests_mock.Mocker() as mock:
        mock_keystone(mock, valid)
        body = call(app, {"X-Auth-Token": "user-tok",
                          "X-Service-Token": "svc-tok"}).json
        assert body["project_id"] == PROJECT
        assert body["roles"] == ["member", "reader"]
        assert body["service_roles"] == ["service"]

        resp = call(app, {"X-Auth-Token": "forged",
                          "X-Identity-Status": "Confirmed",
                          "X-Roles": "admin"})
        assert resp.status_int == 401
        assert resp.headers["WWW-Authenticate"] == (
            'Keystone uri="%s"' % KEYSTONE)
        validated = [h.headers.get("X-Subject-Token")
                     for h in mock.request_history if h.method == "GET"
                     and h.path == "/v3/auth/tokens"]
        assert "forged" in validated


def test_keystone_401_on_the_artifact_api_is_its_json_error(keystone_app):
    req = webob.Request.blank("/artifacts/files",
                              headers={"X-Auth-Token": "bad"})
    resp = req.get_response(keystone_app)
    assert resp.status_int == 401
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json["error"]["code"] == 401
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="%s"' % KEYSTONE
