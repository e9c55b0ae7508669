"""Glare behind a real Keystone: keystonemiddleware's ``auth_token`` in
front (``[paste_deploy] flavor = keystone``), tokens issued by Keystone 30
(tests/keystone_server.py, one per module, SQLite) and Glare found through
Keystone's catalog by python-glanceclient on a keystoneauth1 session.

Two projects with their members, a reader, an admin, Nova-like service
users: what one project keeps private the other cannot see (404, absent
from lists), sharing through members crosses projects, roles decide as
Glance's secure-RBAC defaults do, tokens not scoped to a project are
refused as Glance refuses them, and the v2.17 location API takes the
service role the way Glance does (the user's roles for the policy rules,
the service token's roles added only for the "http store" rule).
"""

import time

import glanceclient
import pytest
import requests
from glanceclient import exc
from keystoneauth1 import service_token
from keystoneauth1 import session as ks_session

from tests import keystone_server
from tests.conftest import database_url, glare_server
from tests.integration.helpers import unique

pytestmark = pytest.mark.integration

# user: (project, roles); every password is made up by the harness.
USERS = {
    "alice": ("proj-a", ["member", "reader"]),
    "bob": ("proj-b", ["member", "reader"]),
    "rita": ("proj-a", ["reader"]),
    "adam": ("proj-a", ["admin"]),
    # An operator's service user in the project (Glance's service_api).
    "sam": ("proj-a", ["member", "reader", "service"]),
    # Nova's service user, and Glare's own (validates tokens).
    "nova": ("service", ["service"]),
    "glare": ("service", ["service"]),
}


@pytest.fixture(scope="module")
def keystone(tmp_path_factory):
    with keystone_server.keystone_with_users(
            tmp_path_factory.mktemp("keystone"), USERS) as ks:
        # A domain-scoped admin: the token carries X-Domain-Id, no project.
        domain_admin, _ = ks.add_user("dora", "proj-a", ["reader"])
        ks.grant_domain_role(domain_admin, "admin")
        yield ks


@pytest.fixture(scope="module")
def glare(keystone, db_kind, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("glare-keystone-%s" % db_kind)
    sections = (
        keystone.glare_sections("glare")
        + "\n[glance_store]\ndefault_backend = fast\n"
        "\n[fast]\nfilesystem_store_datadir = %s\n" % (tmp / "fast"))
    extra = "enabled_backends = fast:file, ceph:rbd\n"
    with database_url(db_kind, tmp) as url:
        with glare_server(tmp, url, extra_conf=extra,
                          extra_sections=sections) as srv:
            keystone.register_service("image", "glare", srv.url)
            yield srv


def session(keystone, user, **scope):
    if not scope:
        scope = {"project": USERS[user][0]}
    return keystone.session(user, keystone.passwords[user], **scope)


def client(keystone, user, **scope):
    """glanceclient finding Glare in Keystone's catalog."""
    return glanceclient.Client("2", session=session(keystone, user, **scope))


def new_image(gc, **body):
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    return gc.images.create(name=unique("ks"), **body)


def listed(gc, **filters):
    return {i["id"] for i in gc.images.list(filters=filters)}


def test_the_catalog_leads_to_glare(keystone, glare):
    sess = session(keystone, "alice")
    assert sess.get_endpoint(service_type="image",
                             interface="public").rstrip("/") == glare.url


def test_a_private_image_is_invisible_to_another_project(keystone, glare):
    alice, bob = client(keystone, "alice"), client(keystone, "bob")
    image = new_image(alice)
    assert image.owner == session(keystone, "alice").get_project_id()
    assert alice.images.get(image.id).id == image.id
    assert image.id in listed(alice)
    with pytest.raises(exc.HTTPNotFound):
        bob.images.get(image.id)
    assert image.id not in listed(bob)
    with pytest.raises(exc.HTTPNotFound):
        bob.images.delete(image.id)
    with pytest.raises(exc.HTTPNotFound):
        bob.images.update(image.id, name="stolen")
    assert alice.images.get(image.id).name == image.name


def test_sharing_through_members_crosses_projects(keystone, glare):
    alice, bob = client(keystone, "alice"), client(keystone, "bob")
    project_b = session(keystone, "bob").get_project_id()
    image = new_image(alice, visibility="shared")
    with pytest.raises(exc.HTTPNotFound):
        bob.images.get(image.id)
    alice.image_members.create(image.id, project_b)
    # Pending: readable, listed only when asked for pending shares.
    assert bob.images.get(image.id).id == image.id
    assert image.id not in listed(bob)
    assert image.id in listed(bob, member_status="pending")
    bob.image_members.update(image.id, project_b, "accepted")
    assert image.id in listed(bob)
    # A member of another project cannot share it further.
    with pytest.raises(exc.HTTPForbidden):
        bob.image_members.create(image.id, "someone-else")
    alice.image_members.delete(image.id, project_b)
    with pytest.raises(exc.HTTPNotFound):
        bob.images.get(image.id)


def test_a_reader_reads_but_cannot_create_or_change(keystone, glare):
    alice, rita = client(keystone, "alice"), client(keystone, "rita")
    with pytest.raises(exc.HTTPForbidden):
        new_image(rita)
    image = new_image(alice)
    assert rita.images.get(image.id).id == image.id
    with pytest.raises(exc.HTTPForbidden):
        rita.images.update(image.id, name="renamed")
    with pytest.raises(exc.HTTPForbidden):
        rita.images.delete(image.id)


def test_an_admin_publicizes_a_member_cannot(keystone, glare):
    alice, adam = client(keystone, "alice"), client(keystone, "adam")
    bob = client(keystone, "bob")
    with pytest.raises(exc.HTTPForbidden):
        new_image(alice, visibility="public")
    image = new_image(alice)
    with pytest.raises(exc.HTTPForbidden):
        alice.images.update(image.id, visibility="public")
    adam.images.update(image.id, visibility="public")
    assert bob.images.get(image.id).visibility == "public"
    public = new_image(adam, visibility="public")
    assert public.id in listed(bob)
    # The admin sees the other project's private images too.
    private_b = new_image(bob)
    assert adam.images.get(private_b.id).id == private_b.id


@pytest.mark.parametrize("scope", ["system", "domain"])
def test_tokens_not_scoped_to_a_project_are_refused(keystone, glare, scope):
    """Glance's rules are all project-scoped: a system- or domain-scoped
    admin token is refused (403), and nothing is created without an
    owner."""
    if scope == "system":
        # The bootstrap admin has the admin role on the system.
        gc = glanceclient.Client("2", session=keystone.session(
            "admin", keystone_server.ADMIN_PASSWORD, system="all"))
    else:
        gc = client(keystone, "dora", domain="default")
    with pytest.raises(exc.HTTPForbidden):
        new_image(gc)
    with pytest.raises(exc.HTTPForbidden):
        list(gc.images.list())
    public = new_image(client(keystone, "adam"), visibility="public")
    with pytest.raises(exc.HTTPNotFound):
        gc.images.get(public.id)


@pytest.mark.parametrize("token", [None, "not-a-token",
                                   "gAAAAABfakefernettoken"])
def test_no_token_or_a_bad_one_is_401(keystone, glare, token):
    headers = {"X-Auth-Token": token} if token else {}
    resp = requests.get(glare.url + "/v2/images", headers=headers,
                        timeout=30)
    assert resp.status_code == 401, resp.text
    # auth_token tells the client where to authenticate, as for Glance.
    assert keystone.auth_url in resp.headers.get("WWW-Authenticate", "")
    resp = requests.get(glare.url + "/artifacts/files", headers=headers,
                        timeout=30)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == 401


def test_a_revoked_token_is_401(keystone, glare):
    sess = session(keystone, "bob")
    assert requests.get(glare.url + "/v2/images",
                        headers={"X-Auth-Token": sess.get_token()},
                        timeout=30).status_code == 200
    # keystonemiddleware caches a validation for a while (as for Glance):
    # a token revoked before Glare first sees it is refused.
    revoked = session(keystone, "bob").get_token()
    keystone.admin.delete(keystone.auth_url + "/auth/tokens",
                          headers={"X-Subject-Token": revoked})
    assert requests.get(glare.url + "/v2/images",
                        headers={"X-Auth-Token": revoked},
                        timeout=30).status_code == 401


def _with_service_token(keystone, user):
    """Nova's way: the user's token plus Nova's service token."""
    user_auth = session(keystone, user).auth
    service_auth = session(keystone, "nova").auth
    return glanceclient.Client("2", session=ks_session.Session(
        auth=service_token.ServiceTokenAuthWrapper(user_auth,
                                                   service_auth)))


def test_location_api_with_a_service_token(keystone, glare):
    alice = client(keystone, "alice")
    image = new_image(alice)
    rbd = "rbd://fsid/images/%s/snap" % image.id
    # The user alone: only the http store is open to a normal user.
    with pytest.raises(exc.HTTPForbidden) as info:
        alice.images.add_image_location(image.id, rbd)
    assert "http store must be enabled" in str(info.value)
    # With Nova's service token the rbd location is registered.
    with_service = _with_service_token(keystone, "alice")
    with_service.images.add_image_location(image.id, rbd)
    _wait_active(alice, image.id)
    # Reading locations is the service role's own (fetch_image_location):
    # the user's roles decide, as in Glance (oslo.policy's role check
    # reads the user's roles only), so alice + service token is refused.
    with pytest.raises(exc.HTTPForbidden):
        with_service.images.get_image_locations(image.id)
    with pytest.raises(exc.HTTPForbidden):
        alice.images.get_image_locations(image.id)
    # A user with the service role in the owning project reads them...
    locations = client(keystone, "sam").images.get_image_locations(image.id)
    assert locations == [{"url": rbd, "metadata": {"store": "ceph"}}]
    # ...Nova's service user of another project does not even see the
    # private image.
    with pytest.raises(exc.HTTPNotFound):
        client(keystone, "nova").images.get_image_locations(image.id)


def test_a_service_user_registers_a_location_with_its_own_token(keystone,
                                                                glare):
    sam = client(keystone, "sam")
    image = new_image(sam)
    rbd = "rbd://fsid/images/%s/snap" % image.id
    sam.images.add_image_location(image.id, rbd)
    _wait_active(sam, image.id)
    assert sam.images.get_image_locations(image.id)[0]["url"] == rbd


def _wait_active(gc, image_id, timeout=30):
    deadline = time.time() + timeout
    while True:
        image = gc.images.get(image_id)
        if image.status == "active" or time.time() > deadline:
            assert image.status == "active", image
            return image
        time.sleep(0.2)
