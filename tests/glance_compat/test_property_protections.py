"""glance_compat.property_protections: Glance's property protection file
(roles and policies formats) and its effect on the Image API (create,
PATCH add/replace/remove, show and list), through the WSGI app."""

import uuid

import pytest

from artifacts.context import RequestContext
from artifacts import types
from artifacts.jobs import SYSTEM
from glance_compat.property_protections import (PropertyRules,
                                                ProtectionFileError)
from glare import app as app_factory
from glare import config
from tests import wsgi_app

ROLES_FILE = """\
[^x_billing_.*]
create = admin
read = admin,member
update = admin
delete = admin

[^x_secret$]
create = admin,member
read = !
update = !
delete = !

[^x_open_]
create = @
read = @
update = @
delete = @

[^x_keep$]
create = member
read = member
update = Member
delete =

[os_glance_foo]
create = !
read = !
update = !
delete = !

[.*]
create = admin,member
read = admin,member,reader
update = admin,member
delete = admin,member
"""

POLICIES_FILE = """\
[^x_billing_.*]
create = billing_creator
read = @
update = billing_creator
delete = !

[.*]
create = @
read = @
update = @
delete = @
"""


def ctx(*roles, service_roles=()):
    return RequestContext(project_id="p", user_id="u", roles=roles,
                          service_roles=service_roles)


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "protections.conf"
    path.write_text(ROLES_FILE)
    return PropertyRules.load(str(path))


def test_first_section_that_matches_anywhere_decides(rules):
    member, admin = ctx("member"), ctx("admin")
    assert not rules.allowed(None, member, "x_billing_code", "create")
    assert rules.allowed(None, member, "x_billing_code", "read")
    assert rules.allowed(None, admin, "x_billing_code", "create")
    # re.search: [.*] matches everything after the earlier sections.
    assert rules.allowed(None, ctx("reader"), "os_distro", "read")
    assert not rules.allowed(None, ctx("reader"), "os_distro", "create")
    # '!' is nobody, even an admin; '@' everybody, even without roles.
    assert not rules.allowed(None, admin, "x_secret", "read")
    assert rules.allowed(None, ctx(), "x_open_a", "delete")
    # An empty operation is nobody; roles compare case-insensitively.
    assert not rules.allowed(None, member, "x_keep", "delete")
    assert rules.allowed(None, ctx("MEMBER"), "x_keep", "update")
    assert rules.allowed(None, ctx(service_roles=("member",)), "x_keep",
                         "read")


def test_os_glance_names_are_the_servers(rules):
    # The operator's [os_glance_foo] is dropped; [os_glance.*] is first.
    assert rules.sections[0][1] == "os_glance.*"
    assert all(name != "os_glance_foo" for _, name, _ in rules.sections)
    assert rules.allowed(None, ctx(), "os_glance_foo", "read")


def test_a_name_no_section_matches_is_refused(tmp_path):
    path = tmp_path / "p.conf"
    path.write_text("[^only_this$]\ncreate = @\nread = @\nupdate = @\n"
                    "delete = @\n")
    rules = PropertyRules.load(str(path))
    assert rules.allowed(None, ctx(), "only_this", "create")
    assert not rules.allowed(None, ctx("admin"), "something_else", "read")


@pytest.mark.parametrize("text,fmt,words", [
    ("[a]\ncreate = @\nread = @\nupdate = @\n", "roles", "no 'delete'"),
    ("[a]\ncreate = @,!\nread = @\nupdate = @\ndelete = @\n", "roles",
     "mutually exclusive"),
    ("[a]\ncreate = p1,p2\nread = @\nupdate = @\ndelete = @\n", "policies",
     "one policy per operation"),
    ("[a(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n", "roles",
     "Malformed"),
    ("[a]\ncreate = @\n[a]\nread = @\n", "roles", "already exists"),
    ("[a]\ncreate = @\n", "acl", "permitted values"),
])
def test_bad_files_are_refused_with_the_reason(tmp_path, text, fmt, words):
    path = tmp_path / "p.conf"
    path.write_text(text)
    with pytest.raises(ProtectionFileError, match=words):
        PropertyRules.load(str(path), fmt)


def test_a_missing_file_stops_the_start(tmp_path):
    conf = config.load(overrides={
        "DEFAULT.property_protection_file": str(tmp_path / "nope.conf"),
        "database.connection": "sqlite:///%s/g.sqlite" % tmp_path})
    with pytest.raises(config.ConfigError, match="property_protection_file"):
        app_factory.build_engine(conf)


def test_a_section_named_like_a_glare_rule_stops_the_start(tmp_path):
    """In the policies format [artifact] create would be the rule
    artifact:create, which the other artifact types use."""
    prot = tmp_path / "protections.conf"
    prot.write_text("[artifact]\ncreate = x\nread = @\nupdate = @\n"
                    "delete = @\n")
    conf = config.load(overrides={
        "DEFAULT.property_protection_file": str(prot),
        "DEFAULT.property_protection_rule_format": "policies",
        "database.connection": "sqlite:///%s/g.sqlite" % tmp_path})
    with pytest.raises(config.ConfigError, match="artifact:create"):
        app_factory.build_engine(conf)


def _client(tmp_path, text, fmt="roles", policy_text=None):
    prot = tmp_path / "protections.conf"
    prot.write_text(text)
    return wsgi_app.client(wsgi_app.sqlite_conf(tmp_path, {
        "oslo_policy.policy_file": wsgi_app.policy_file(
            tmp_path, policy_text or "{}\n"),
        "DEFAULT.property_protection_file": str(prot),
        "DEFAULT.property_protection_rule_format": fmt}))


def stored_properties(api, image_id):
    """The image's properties as stored, whoever may read them."""
    return api.engine.get(SYSTEM, types.get("images"), image_id)[
        "properties"]


def who(roles, project="p-prot"):
    return {"X-Identity-Status": "Confirmed", "X-Project-Id": project,
            "X-User-Id": "u-" + roles, "X-Roles": roles,
            "Accept": "application/json"}


ADMIN, MEMBER, READER = (who("admin,member,reader"), who("member,reader"),
                         who("reader"))
PATCH = "application/openstack-images-v2.1-json-patch"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    return _client(tmp_path_factory.mktemp("prot-roles"), ROLES_FILE)


def _patch(api, image_id, headers, *ops):
    return api.patch("/v2/images/" + image_id, json=list(ops),
                     headers=dict(headers, **{"Content-Type": PATCH}))


def test_create_refuses_a_property_the_caller_may_not_create(api):
    resp = api.post("/v2/images", headers=MEMBER,
                    json={"name": "n", "x_billing_code": "1"})
    assert resp.status_code == 403
    assert "Attribute 'x_billing_code' is reserved." in resp.text
    made = api.post("/v2/images", headers=ADMIN, json={
        "name": "n", "x_billing_code": "1", "x_secret": "s",
        "os_distro": "d", "min_ram": 4})
    assert made.status_code == 201, made.text
    # Shown to the creator only as far as it may read.
    assert made.json["x_billing_code"] == "1" and "x_secret" not in made.json


def test_create_checks_add_image_and_visibility_first(api):
    """Glance's order: add_image, the visibility rules, then the
    properties."""
    resp = api.post("/v2/images", headers=READER,
                    json={"name": "n", "x_billing_code": "1"})
    assert resp.status_code == 403 and "add_image" in resp.text
    resp = api.post("/v2/images", headers=MEMBER, json={
        "name": "n", "x_billing_code": "1", "visibility": "public"})
    assert resp.status_code == 403 and "publicize_image" in resp.text


def test_reads_hide_what_the_caller_may_not_read(api):
    image = api.post("/v2/images", headers=MEMBER, json={
        "name": "n", "x_secret": "s", "x_keep": "k", "os_distro": "d",
        "visibility": "community"}).json
    shown = api.get("/v2/images/" + image["id"], headers=READER).json
    # Readers read [.*] but not x_keep (member only) nor x_secret (nobody);
    # base attributes are never protected.
    assert shown["os_distro"] == "d" and shown["min_ram"] == 0
    assert "x_keep" not in shown and "x_secret" not in shown
    listed = api.get("/v2/images?visibility=community",
                     headers=READER).json["images"]
    mine = [i for i in listed if i["id"] == image["id"]]
    assert mine and "x_keep" not in mine[0] and mine[0]["os_distro"] == "d"
    assert api.get("/v2/images/" + image["id"],
                   headers=MEMBER).json["x_keep"] == "k"


def test_patch_follows_create_update_delete(api):
    image = api.post("/v2/images", headers=ADMIN, json={
        "name": "n", "x_billing_code": "1", "x_secret": "s",
        "x_keep": "k"}).json
    iid = image["id"]
    # update of a readable property needs update.
    resp = _patch(api, iid, MEMBER, {"op": "replace",
                                     "path": "/x_billing_code", "value": "2"})
    assert resp.status_code == 403
    assert "Attribute 'x_billing_code' is reserved." in resp.text
    # add of a new one needs create (admin only for x_billing_*).
    resp = _patch(api, iid, MEMBER, {"op": "add", "path": "/x_billing_new",
                                     "value": "2"})
    assert resp.status_code == 403
    # remove needs delete; x_keep's delete is empty: nobody.
    resp = _patch(api, iid, MEMBER, {"op": "remove", "path": "/x_keep"})
    assert resp.status_code == 403 and "x_keep" in resp.text
    # A property the caller may not read does not exist for it.
    for op in ({"op": "replace", "path": "/x_secret", "value": "t"},
               {"op": "remove", "path": "/x_secret"}):
        resp = _patch(api, iid, ADMIN, op)
        assert resp.status_code == 409
        assert "Property x_secret does not exist." in resp.text
    # Allowed changes go through, and keep what the caller cannot read.
    resp = _patch(api, iid, MEMBER,
                  {"op": "replace", "path": "/x_keep", "value": "k2"},
                  {"op": "add", "path": "/os_distro", "value": "d"})
    assert resp.status_code == 200, resp.text
    assert resp.json["x_keep"] == "k2" and "x_secret" not in resp.json
    resp = _patch(api, iid, ADMIN, {"op": "replace",
                                    "path": "/x_billing_code", "value": "3"})
    assert resp.status_code == 200 and resp.json["x_billing_code"] == "3"
    # The secret is still stored: '!' hides it from every caller, yet no
    # edit by one who cannot read it dropped it (Glance's save does).
    assert stored_properties(api, iid)["x_secret"] == "s"
    # An add of it is a create (it does not exist for the caller), as in
    # Glance: allowed to members, and it replaces the hidden value.
    assert _patch(api, iid, MEMBER, {"op": "add", "path": "/x_secret",
                                     "value": "x"}).status_code == 200
    assert stored_properties(api, iid)["x_secret"] == "x"


def test_policies_format_uses_the_policy_files_rules(tmp_path):
    api = _client(tmp_path, POLICIES_FILE, fmt="policies",
                  policy_text='"billing_creator": "role:billing"\n')
    billing = who("member,reader,billing")
    resp = api.post("/v2/images", headers=MEMBER,
                    json={"name": "n", "x_billing_code": "1"})
    assert resp.status_code == 403
    assert "Attribute 'x_billing_code' is reserved." in resp.text
    made = api.post("/v2/images", headers=billing,
                    json={"name": "n", "x_billing_code": "1"})
    assert made.status_code == 201, made.text
    shown = api.get("/v2/images/" + made.json["id"], headers=MEMBER).json
    assert shown["x_billing_code"] == "1"
    # delete = '!': nobody, whatever the policy file says.
    resp = _patch(api, made.json["id"], billing,
                  {"op": "remove", "path": "/x_billing_code"})
    assert resp.status_code == 403


def test_without_a_file_nothing_is_protected(tmp_path):
    api = wsgi_app.client(wsgi_app.sqlite_conf(tmp_path, {
        "oslo_policy.policy_file": wsgi_app.NO_POLICY_FILE}))
    made = api.post("/v2/images", headers=MEMBER,
                    json={"name": "n", "x_billing_code": str(uuid.uuid4())})
    assert made.status_code == 201 and "x_billing_code" in made.json


def test_a_legacy_import_task_needs_the_create_permission(api):
    """The poster's roles are judged when the task is posted (its runner
    creates the image later with fixed roles): a property it may not
    create fails the task at once, naming it."""
    only_admin = who("admin")

    def post(**properties):
        resp = api.post("/v2/tasks", headers=only_admin, json={
            "type": "import", "input": {
                "import_from": "http://8.8.8.8/x",
                "import_from_format": "qcow2",
                "image_properties": dict(disk_format="raw",
                                         container_format="bare",
                                         **properties)}})
        assert resp.status_code == 201, resp.text
        return api.get("/v2/tasks/" + resp.json["id"],
                       headers=only_admin).json

    refused = post(x_billing_code="1", x_keep="k")
    assert (refused["status"], refused["message"]) == (
        "failure", "Attribute 'x_keep' is reserved.")
    allowed = post(x_billing_code="1", os_distro="d", min_ram=1)
    assert (allowed["status"], allowed["message"]) == ("pending", "")
