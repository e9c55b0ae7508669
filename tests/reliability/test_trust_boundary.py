"""The trust boundary, tried as an attacker would, on a real server and
both faces (the Image API under /v2 and the Artifact API under
/artifacts):

* without Keystone, a ``[noauth] token_map`` is the only way in: an
  unlisted token or none is 401, and identity headers never override a
  mapped token; ``X-Identity-Status`` is compared as keystonemiddleware
  sets it;
* a caller whose token is not scoped to a project (system- or
  domain-scoped, keystonemiddleware's headers) is refused as Glance
  refuses it, and nothing is ever stored without an owner;
* another project's artifact is 404 at once, even while its lock is held
  (never 409 after the lock wait), and so are import, copy and staging of
  an image the caller cannot see.

The Keystone mode is driven in process at the end: keystonemiddleware's
auth_token in front of the whole app, tokens validated by a mocked
Keystone.
"""

import concurrent.futures
import time
import uuid

import pytest
import requests
import requests_mock
import webob

from artifacts.db import migrate
from artifacts.db.session import make_engine
from artifacts.locking import Locks
from tests.conftest import database_url, glare_server
from tests.glare.test_auth import KEYSTONE, mock_keystone, v3_token
from tests.integration.helpers import (ADMIN, create_image, project_headers,
                                       unique, upload)

pytestmark = pytest.mark.integration

OCTETS = {"Content-Type": "application/octet-stream"}
SPOOF = {"X-Identity-Status": "Confirmed", "X-Project-Id": "evil",
         "X-Tenant-Id": "evil", "X-User-Id": "evil", "X-Roles": "admin"}
TOKEN_MAP = ("tok-a=proj-a:user-a:member,reader;"
             "tok-b=proj-b:user-b:member,reader;"
             "tok-admin=proj-admin:admin:admin,member,reader")


def token(name):
    return {"X-Auth-Token": name}


# ----------------------------------------------------------- the token map

@pytest.fixture(scope="module")
def mapped(db_kind, tmp_path_factory):
    """A server whose [noauth] token_map is set."""
    tmp = tmp_path_factory.mktemp("mapped-%s" % db_kind)
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_sections=(
                "[noauth]\ntoken_map = %s\n" % TOKEN_MAP)) as srv:
            yield srv


@pytest.mark.parametrize("headers", [
    {}, token("x"), token(""), token("tok-a:"), token("TOK-A"), SPOOF,
    dict(SPOOF, **token("unknown")),
    dict(SPOOF, **{"X-Identity-Status": "Invalid"})])
@pytest.mark.parametrize("path", ["/v2/images", "/artifacts/files",
                                  "/v2/info/import", "/artifacts/quotas"])
def test_token_map_refuses_unlisted_tokens(mapped, headers, path):
    resp = requests.get(mapped.url + path, headers=headers, timeout=30)
    assert resp.status_code == 401, resp.text


def test_token_map_refuses_writes_without_storing(mapped):
    for headers in ({}, token("nope"), SPOOF):
        resp = requests.post(mapped.url + "/v2/images", headers=headers,
                             json={"name": "x"}, timeout=30)
        assert resp.status_code == 401
    listed = requests.get(mapped.url + "/v2/images", timeout=30,
                          headers=token("tok-admin")).json()["images"]
    assert listed == []


def test_health_and_versions_need_no_token(mapped):
    assert requests.get(mapped.url + "/healthcheck", timeout=30).ok
    assert requests.get(mapped.url + "/versions", timeout=30).ok


def test_headers_never_override_a_mapped_token(mapped):
    image = create_image(mapped.url, headers=dict(SPOOF, **token("tok-a")),
                         name=unique("mapped"), visibility="private")
    assert image["owner"] == "proj-a"
    # Project b, even claiming to be project a with the admin role, does
    # not see it.
    spoof_a = dict(SPOOF, **{"X-Project-Id": "proj-a",
                             "X-Tenant-Id": "proj-a"})
    resp = requests.get(mapped.url + "/v2/images/" + image["id"],
                        headers=dict(spoof_a, **token("tok-b")), timeout=30)
    assert resp.status_code == 404
    resp = requests.post(mapped.url + "/artifacts/files",
                         headers=dict(spoof_a, **token("tok-b")),
                         json={"name": unique("f")}, timeout=30)
    assert resp.status_code == 201, resp.text
    assert resp.json()["owner"] == "proj-b"


# ------------------------------------------------- scope and ownerless rows

SYSTEM_ADMIN = {"X-Identity-Status": "Confirmed", "X-User-Id": "cloud-admin",
                "X-Roles": "admin,member,reader",
                "OpenStack-System-Scope": "all"}
# What keystonemiddleware sends for each kind of token that is not scoped
# to a project (and a made-up X-System-Scope: it can only narrow).
NOT_PROJECT_SCOPED = {
    "system": SYSTEM_ADMIN,
    "x-system-scope": dict(SYSTEM_ADMIN, **{
        "OpenStack-System-Scope": None, "X-System-Scope": "all"}),
    "domain": dict(SYSTEM_ADMIN, **{"OpenStack-System-Scope": None,
                                    "X-Domain-Id": "default",
                                    "X-Domain-Name": "Default"}),
}


def _headers(kind):
    return {k: v for k, v in NOT_PROJECT_SCOPED[kind].items()
            if v is not None}


def _count_owned_by_nobody(db_url):
    import sqlalchemy as sa
    eng = make_engine(db_url)
    try:
        with eng.connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM artifacts WHERE owner IS NULL")
            ).scalar()
    finally:
        eng.dispose()


@pytest.mark.parametrize("kind", sorted(NOT_PROJECT_SCOPED))
def test_tokens_not_scoped_to_a_project_are_refused(server, kind):
    headers = _headers(kind)
    url = server.url
    resp = requests.post(url + "/v2/images", headers=headers, timeout=30,
                         json={"name": "sys", "visibility": "public",
                               "disk_format": "raw",
                               "container_format": "bare"})
    assert resp.status_code == 403, resp.text
    assert "add_image" in resp.text
    assert requests.get(url + "/v2/images", headers=headers,
                        timeout=30).status_code == 403
    resp = requests.post(url + "/artifacts/files", headers=headers,
                         json={"name": "sys"}, timeout=30)
    assert resp.status_code == 403, resp.text
    assert requests.get(url + "/artifacts/files", headers=headers,
                        timeout=30).status_code == 403
    # A public image is still not theirs to read, change or delete.
    image = create_image(url, name=unique("scoped"), visibility="public")
    for method in ("GET", "DELETE"):
        resp = requests.request(method, url + "/v2/images/" + image["id"],
                                headers=headers, timeout=30)
        assert resp.status_code == 404, (method, resp.text)
    assert _count_owned_by_nobody(server.db_url) == 0


def test_no_project_and_no_scope_cannot_create(server):
    """Trusted headers with an admin role but no project at all: the
    policy lets an admin through, the engine refuses to store an
    artifact without an owner."""
    headers = {"X-Identity-Status": "Confirmed", "X-User-Id": "u",
               "X-Roles": "admin,member,reader"}
    resp = requests.post(server.url + "/v2/images", headers=headers,
                         json={"name": "x", "visibility": "public"},
                         timeout=30)
    assert resp.status_code == 403, resp.text
    assert "must be owned by a project" in resp.text
    resp = requests.post(server.url + "/artifacts/files", headers=headers,
                         json={"name": "x"}, timeout=30)
    assert resp.status_code == 403, resp.text
    # An admin cannot ask for "owner": null either, on create or PATCH.
    resp = requests.post(server.url + "/artifacts/files", headers=ADMIN,
                         json={"name": "x", "owner": None}, timeout=30)
    assert resp.status_code in (400, 403), resp.text
    assert _count_owned_by_nobody(server.db_url) == 0


@pytest.mark.parametrize("status", ["Invalid", "confirmed", ""])
def test_unconfirmed_identity_is_401(server, status):
    resp = requests.get(server.url + "/v2/images", timeout=30,
                        headers=dict(SPOOF, **{"X-Identity-Status": status}))
    assert resp.status_code == 401
    resp = requests.get(server.url + "/artifacts/files", timeout=30,
                        headers=dict(SPOOF, **{"X-Identity-Status": status}))
    assert resp.status_code == 401


# ------------------------------------------------- 404 before the lock

@pytest.fixture(scope="module")
def locks(server):
    eng = make_engine(server.db_url)
    yield Locks(eng)
    eng.dispose()


def test_invisible_image_is_404_at_once_while_locked(server, locks):
    owner = project_headers("owner-" + uuid.uuid4().hex[:8])
    stranger = project_headers("stranger-" + uuid.uuid4().hex[:8])
    image = create_image(server.url, headers=owner, name=unique("locked"),
                         visibility="private")
    url = server.url + "/v2/images/" + image["id"]
    calls = [
        ("PATCH", url, {"Content-Type": "application/openstack-images-v2.1-"
                        "json-patch"},
         b'[{"op": "replace", "path": "/name", "value": "x"}]'),
        ("DELETE", url, {}, None),
        ("POST", url + "/actions/deactivate", {}, None),
        ("POST", url + "/actions/reactivate", {}, None),
        ("PUT", url + "/file", OCTETS, b"data"),
        ("PUT", url + "/stage", OCTETS, b"data"),
        ("POST", url + "/import", {"Content-Type": "application/json"},
         b'{"method": {"name": "glance-direct"}}'),
        ("POST", url + "/members", {"Content-Type": "application/json"},
         b'{"member": "x"}'),
        ("PUT", url + "/tags/t", {}, None),
    ]
    lease = locks.acquire(("image", image["id"]), "upload")
    try:
        for method, where, extra, body in calls:
            started = time.monotonic()
            resp = requests.request(method, where, data=body, timeout=30,
                                    headers=dict(stranger, **extra))
            took = time.monotonic() - started
            assert resp.status_code == 404, (method, where, resp.text)
            assert took < 2.0, (method, where, took)
        # The owner, by contrast, waits for the lock like anyone entitled,
        # and goes through once the holder lets go.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            owner_delete = pool.submit(requests.delete, url, headers=owner,
                                       timeout=60)
            time.sleep(1.5)
            lease.release()
            assert owner_delete.result().status_code == 204
            assert time.monotonic() - started >= 1.5
    finally:
        lease.release()


def test_invisible_artifact_is_404_at_once_while_locked(server, locks):
    owner = project_headers("owner-" + uuid.uuid4().hex[:8])
    stranger = project_headers("stranger-" + uuid.uuid4().hex[:8])
    api = server.url + "/artifacts/files"
    resp = requests.post(api, json={"name": unique("locked")},
                         headers=owner, timeout=30)
    assert resp.status_code == 201, resp.text
    art = resp.json()
    url = "%s/%s" % (api, art["id"])
    calls = [
        ("PATCH", url, {"Content-Type": "application/json-patch+json"},
         b'[{"op": "replace", "path": "/name", "value": "x"}]'),
        ("DELETE", url, {}, None),
        ("POST", url + "/actions/activate", {}, None),
        ("POST", url + "/actions/deactivate", {}, None),
        ("PUT", url + "/file", OCTETS, b"data"),
        ("POST", url + "/members", {"Content-Type": "application/json"},
         b'{"member": "x"}'),
    ]
    with locks.hold(("file", art["id"]), "upload"):
        for method, where, extra, body in calls:
            started = time.monotonic()
            resp = requests.request(method, where, data=body, timeout=30,
                                    headers=dict(stranger, **extra))
            took = time.monotonic() - started
            assert resp.status_code == 404, (method, where, resp.text)
            assert took < 2.0, (method, where, took)


def test_import_and_copy_of_an_invisible_image_are_404(server):
    owner = project_headers("owner-" + uuid.uuid4().hex[:8])
    stranger = project_headers("stranger-" + uuid.uuid4().hex[:8])
    image = create_image(server.url, headers=owner, name=unique("imp"),
                         visibility="private")
    assert upload(server.url, image["id"], b"0123456789",
                  headers=owner).status_code == 204
    url = server.url + "/v2/images/%s/import" % image["id"]
    # Methods this site does not offer, malformed method objects, the
    # wrong status for the method, a method the owner's role may not use
    # (copy-image is admin's): each is a 400, 403 or 409 to the owner, and
    # a 404 to a stranger.
    for body in ({"method": {"name": "copy-image"}},
                 {"method": {"name": "glance-direct"}},
                 {"method": {"name": "web-download",
                             "uri": "http://example.com/x"}},
                 {"method": {"name": "no-such-method"}},
                 {"method": "copy-image"}, {}):
        resp = requests.post(url, json=body, headers=stranger, timeout=30)
        assert resp.status_code == 404, (body, resp.text)
        mine = requests.post(url, json=body, headers=owner, timeout=30)
        assert mine.status_code in (400, 403, 409), (body, mine.text)
    resp = requests.put(server.url + "/v2/images/%s/stage" % image["id"],
                        data=b"x", headers=dict(stranger, **OCTETS),
                        timeout=30)
    assert resp.status_code == 404


# ------------------------------------------------------- keystone, in process

ALL_ROLES = ["admin", "member", "reader"]
ADMIN_TOKENS = {
    "system-admin": v3_token(None, ALL_ROLES, scope="system",
                             user_id="u-system"),
    "domain-admin": v3_token(None, ALL_ROLES, scope="domain",
                             user_id="u-domain"),
    "project-member": v3_token("proj-k", ["member", "reader"]),
}


@pytest.fixture
def keystone_app(tmp_path, monkeypatch):
    from keystonemiddleware import auth_token
    from keystonemiddleware.auth_token import _exceptions

    tokens = ADMIN_TOKENS

    def fetch_token(self, token, **kwargs):
        if token in tokens:
            return tokens[token]
        raise _exceptions.InvalidToken()

    monkeypatch.setattr(auth_token.AuthProtocol, "fetch_token", fetch_token)
    with requests_mock.Mocker():        # nothing may reach the network
        yield _keystone_app(tmp_path)


def _keystone_app(tmp_path):
    from glare import app as glare_app
    from glare import config
    conf_file = tmp_path / "glare.conf"
    conf_file.write_text(
        "[database]\nconnection = sqlite:///%s\n"
        "[glance_store]\nfilesystem_store_datadir = %s\n"
        "[oslo_policy]\npolicy_file = /nonexistent/policy.yaml\n"
        "[paste_deploy]\nflavor = keystone\n"
        "[keystone_authtoken]\nwww_authenticate_uri = %s\nauth_url = %s\n"
        "auth_type = password\nusername = glance\npassword = secret\n"
        "project_name = service\nuser_domain_name = Default\n"
        "project_domain_name = Default\nmemcached_servers =\n"
        % (tmp_path / "glare.sqlite", tmp_path / "images", KEYSTONE,
           KEYSTONE + "/v3"))
    conf = config.load(str(conf_file))
    migrate.upgrade(make_engine(conf.database.connection))
    return glare_app.create_app(conf)


def _call(app, method, path, tok, body=None, headers=None):
    req = webob.Request.blank(path, method=method,
                              headers=dict(headers or {}, **token(tok)))
    if body is not None:
        req.json_body = body
        req.content_type = "application/json"
    return req.get_response(app)


@pytest.mark.parametrize("tok", ["system-admin", "domain-admin"])
def test_keystone_tokens_not_scoped_to_a_project(keystone_app, tok):
    resp = _call(keystone_app, "POST", "/v2/images", tok,
                 {"name": "x", "visibility": "public"})
    assert resp.status_int == 403, resp.text
    assert "add_image" in resp.text
    assert _call(keystone_app, "GET", "/v2/images", tok).status_int == 403
    assert _call(keystone_app, "POST", "/artifacts/files", tok,
                 {"name": "x"}).status_int == 403
    # Spoofed project headers are stripped by auth_token.
    resp = _call(keystone_app, "POST", "/v2/images", tok, {"name": "x"},
                 headers={"X-Project-Id": "p", "X-Tenant-Id": "p"})
    assert resp.status_int == 403
    # A project-scoped member still works, and owns what it creates.
    resp = _call(keystone_app, "POST", "/v2/images", "project-member",
                 {"name": "ok"})
    assert resp.status_int == 201, resp.text
    assert resp.json["owner"] == "proj-k"
    assert _call(keystone_app, "GET", "/v2/images/" + resp.json["id"],
                 tok).status_int == 404


def test_keystone_system_token_through_a_mocked_keystone(tmp_path):
    """No shortcut: auth_token validates the system-scoped token over
    (mocked) HTTP, then the policy refuses it."""
    app = _keystone_app(tmp_path)
    with requests_mock.Mocker() as mock:
        mock_keystone(mock, ADMIN_TOKENS)
        resp = _call(app, "POST", "/v2/images", "system-admin",
                     {"name": "x", "visibility": "public"})
        assert resp.status_int == 403, resp.text
        resp = _call(app, "POST", "/v2/images", "project-member",
                     {"name": "x"})
        assert resp.status_int == 201, resp.text
        assert resp.json["owner"] == "proj-k"
        validated = [h.headers.get("X-Subject-Token")
                     for h in mock.request_history if h.method == "GET"
                     and h.path == "/v3/auth/tokens"]
        assert "system-admin" in validated
