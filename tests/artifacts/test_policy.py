"""The policy enforcer and the images rules (Glance's secure-RBAC defaults)."""

import os
import time

import pytest
from oslo_policy import policy as oslo_policy

from artifacts import errors
from artifacts.context import RequestContext
from artifacts.policy import Enforcer, PolicyFileError
from artifacts.types import image_policies as ip
from glare import config

OWNER = "project-a"
OTHER = "project-b"


def ctx(project, *roles):
    return RequestContext(project_id=project, user_id="u-" + project,
                          roles=tuple(roles))


def make_enforcer(tmp_path=None, policy_text=None, **kwargs):
    overrides = {}
    if policy_text is not None:
        path = tmp_path / "policy.yaml"
        path.write_text(policy_text)
        overrides["oslo_policy.policy_file"] = str(path)
    else:
        # Never pick up a stray policy.yaml from the machine's config dirs.
        overrides["oslo_policy.policy_file"] = "/nonexistent/policy.yaml"
    conf = config.load(overrides=overrides)
    return Enforcer(conf, ip.RULES, **kwargs)


@pytest.fixture(scope="module")
def enforcer():
    return make_enforcer()


def own(visibility="private"):
    return ip.image_target(OWNER, visibility)


ADMIN = ctx(OTHER, "admin", "member", "reader")
MEMBER = ctx(OWNER, "member", "reader")
READER = ctx(OWNER, "reader")
STRANGER_MEMBER = ctx(OTHER, "member", "reader")
STRANGER_READER = ctx(OTHER, "reader")


def test_rule_names_are_glances():
    names = {r.name for r in ip.RULES}
    for name in ["context_is_admin", "default", "add_image", "get_images",
                 "get_image", "download_image", "modify_image",
                 "delete_image", "upload_image", "deactivate", "reactivate",
                 "publicize_image", "communitize_image", "add_member",
                 "delete_member", "get_member", "get_members",
                 "modify_member", "get_image_location", "set_image_location",
                 "delete_image_location", "add_image_location",
                 "fetch_image_location", "copy_image", "tasks_api_access",
                 "get_task", "get_tasks", "add_task", "modify_task",
                 "stores_info_detail", "manage_image_cache", "cache_image",
                 "cache_list", "cache_delete", "cache_clean", "cache_prune"]:
        assert name in names
    assert len(names) == len(ip.RULES)


def test_reader_can_read_but_not_create_or_download(enforcer):
    assert enforcer.check(READER, "get_images", ip.list_target(READER))
    assert enforcer.check(READER, "get_image", own())
    assert not enforcer.check(READER, "add_image", ip.create_target(READER))
    assert not enforcer.check(READER, "download_image", own())
    assert not enforcer.check(READER, "modify_image", own())
    with pytest.raises(errors.Forbidden) as info:
        enforcer.enforce(READER, "download_image", own())
    assert info.value.message == ("You are not authorized to complete "
                                  "download_image action.")
    assert info.value.status == 403


def test_member_manages_own_project_only(enforcer):
    assert enforcer.check(MEMBER, "add_image", ip.create_target(MEMBER))
    # Creating an image owned by another project is refused.
    assert not enforcer.check(MEMBER, "add_image",
                              ip.create_target(MEMBER, owner=OTHER))
    for rule in ["modify_image", "delete_image", "upload_image",
                 "deactivate", "reactivate", "add_member", "delete_member",
                 "communitize_image", "set_image_location",
                 "download_image"]:
        assert enforcer.check(MEMBER, rule, own()), rule
        assert not enforcer.check(STRANGER_MEMBER, rule, own()), rule
    enforcer.enforce(MEMBER, "modify_image", own())
    with pytest.raises(errors.Forbidden):
        enforcer.enforce(STRANGER_MEMBER, "modify_image", own())


def test_admin_can_do_everything(enforcer):
    for rule in ip.RULES:
        assert enforcer.check(ADMIN, rule.name, own()), rule.name


def test_admin_only_rules(enforcer):
    for rule in ["publicize_image", "delete_image_location", "copy_image",
                 "tasks_api_access", "manage_image_cache", "cache_list",
                 "fetch_image_location", "stores_info_detail"]:
        assert enforcer.check(ADMIN, rule, own()), rule
        assert not enforcer.check(MEMBER, rule, own()), rule


def test_roles_are_case_insensitive(enforcer):
    assert enforcer.check(ctx(OTHER, "Admin"), "publicize_image", own())
    assert enforcer.check(ctx(OWNER, "MEMBER"), "modify_image", own())


@pytest.mark.parametrize("visibility,visible", [
    ("public", True), ("community", True), ("shared", True),
    ("private", False)])
def test_get_image_by_visibility(enforcer, visibility, visible):
    target = own(visibility)
    assert enforcer.check(STRANGER_READER, "get_image", target) is visible
    assert (enforcer.check(STRANGER_MEMBER, "download_image", target)
            is visible)
    # Without the reader role nothing is visible.
    assert not enforcer.check(ctx(OTHER), "get_image", target)


def test_image_member_sees_private_image(enforcer):
    target = ip.image_target(OWNER, "private", member_id=OTHER)
    assert enforcer.check(STRANGER_READER, "get_image", target)
    assert enforcer.check(STRANGER_READER, "get_members", target)
    assert enforcer.check(STRANGER_MEMBER, "modify_member", target)
    assert not enforcer.check(STRANGER_MEMBER, "add_member", target)
    # The owner cannot accept on the consumer's behalf.
    assert not enforcer.check(MEMBER, "modify_member", target)


def test_missing_ids_never_match_each_other(enforcer):
    nobody = RequestContext(project_id=None, roles=("reader", "member"))
    ownerless = ip.image_target(None, "private")
    assert not enforcer.check(nobody, "get_image", ownerless)
    assert not enforcer.check(nobody, "modify_image", ownerless)


def test_service_role(enforcer):
    service = ctx("svc", "service")
    assert enforcer.check(service, "fetch_image_location", own())
    assert enforcer.check(service, "add_image_location", own())
    assert enforcer.check(MEMBER, "add_image_location", own())
    assert not enforcer.check(STRANGER_MEMBER, "add_image_location", own())


def test_tasks_need_admin_through_tasks_api_access(enforcer):
    assert enforcer.check(READER, "get_tasks", {})
    assert not enforcer.check(READER, "tasks_api_access", {})


def test_visibility_rule_helper():
    assert ip.visibility_rule("public") == "publicize_image"
    assert ip.visibility_rule("community") == "communitize_image"
    assert ip.visibility_rule("shared") is None


def test_enforce_on_image_hides_invisible_images(enforcer):
    # Visible but not allowed: 403.
    with pytest.raises(errors.Forbidden):
        ip.enforce_on_image(enforcer, READER, "download_image", own())
    # Not even visible: 404, so the id's existence is not confirmed.
    with pytest.raises(errors.NotFound):
        ip.enforce_on_image(enforcer, STRANGER_MEMBER, "modify_image", own())
    with pytest.raises(errors.NotFound):
        ip.enforce_on_image(enforcer, STRANGER_READER, "get_image", own())
    ip.enforce_on_image(enforcer, MEMBER, "modify_image", own())


def test_unregistered_rule_is_an_error_not_an_allow(enforcer):
    with pytest.raises(oslo_policy.PolicyNotRegistered):
        enforcer.check(ADMIN, "add_imgae", own())


def test_operator_policy_file_overrides_defaults(tmp_path):
    enforcer = make_enforcer(tmp_path, '"add_image": "role:admin"\n')
    assert not enforcer.check(MEMBER, "add_image", ip.create_target(MEMBER))
    assert enforcer.check(ADMIN, "add_image", ip.create_target(ADMIN))
    # Rules the file leaves alone keep their defaults.
    assert enforcer.check(MEMBER, "modify_image", own())


def test_operator_file_may_refer_to_image_attributes(tmp_path):
    enforcer = make_enforcer(
        tmp_path, "\"download_image\": \"'true':%(os_hidden)s\"\n")
    hidden = ip.image_target(OWNER, "private", os_hidden="true")
    assert enforcer.check(ctx(OTHER), "download_image", hidden)
    assert not enforcer.check(ADMIN, "download_image", own())


def test_policy_file_changes_are_picked_up(tmp_path):
    enforcer = make_enforcer(tmp_path, '"add_image": "role:admin"\n',
                             reload_interval=0)
    assert not enforcer.check(MEMBER, "add_image", ip.create_target(MEMBER))
    path = tmp_path / "policy.yaml"
    path.write_text('"add_image": "role:member"\n')
    later = time.time() + 10
    os.utime(path, (later, later))
    assert enforcer.check(MEMBER, "add_image", ip.create_target(MEMBER))
    # A broken edit keeps the last good rules.
    path.write_text('"add_image": [\n')
    os.utime(path, (later + 10, later + 10))
    assert enforcer.check(MEMBER, "add_image", ip.create_target(MEMBER))


def test_broken_policy_file_fails_at_start(tmp_path):
    with pytest.raises(PolicyFileError):
        make_enforcer(tmp_path, '"add_image": [\n')


def test_no_filesystem_access_per_check(monkeypatch):
    """A list request checks get_image per row: it must stay cheap."""
    enforcer = make_enforcer(reload_interval=3600)
    calls = []
    monkeypatch.setattr(os.path, "getmtime",
                        lambda *a: calls.append(a) or 0.0)
    monkeypatch.setattr(os.path, "exists",
                        lambda *a: calls.append(a) or False)
    target = own("public")
    started = time.perf_counter()
    for _ in range(5000):
        assert enforcer.check(STRANGER_READER, "get_image", target)
    elapsed = time.perf_counter() - started
    assert calls == []
    assert elapsed < 2.0, elapsed


@pytest.mark.parametrize("new_defaults", [True, False])
@pytest.mark.parametrize("scope", [{"system_scope": "all"},
                                   {"domain_id": "default"}])
def test_tokens_not_scoped_to_a_project_are_refused(scope, new_defaults):
    """As in Glance with oslo.policy >= 6: scope is always enforced (the
    [oslo_policy] enforce_scope switch is gone), whatever
    enforce_new_defaults says, and every rule is project-scoped."""
    conf = config.load(overrides={
        "oslo_policy.policy_file": "/nonexistent/policy.yaml",
        "oslo_policy.enforce_new_defaults": new_defaults})
    enforcer = Enforcer(conf, ip.RULES)
    admin = RequestContext(project_id=None, user_id="cloud-admin",
                           roles=("admin", "member", "reader"), **scope)
    target = ip.create_target(admin, owner=OWNER, visibility="public")
    for rule in ("add_image", "get_images", "get_image", "publicize_image",
                 "delete_image", "modify_image", "upload_image"):
        assert enforcer.check(admin, rule, target) is False, rule
    with pytest.raises(errors.Forbidden) as exc:
        enforcer.enforce(admin, "add_image", target)
    assert exc.value.message == ("You are not authorized to complete "
                                 "add_image action.")
    # The same roles scoped to a project pass.
    scoped = RequestContext(project_id=OWNER, user_id="u",
                            roles=("admin", "member", "reader"))
    assert enforcer.check(scoped, "add_image", target) is True
