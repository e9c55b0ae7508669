"""Glare registers every rule Glance 33 registers, with equivalent defaults,
and an operator's Glance policy file (the full generated one, a legacy
``"default": "role:admin"`` one, JSON) loads unchanged.

Glance's rules are read from the real Glance in its venv
(``.cache/glance-venv``, ``make glance-venv``); without it the comparison
skips and says so.
"""

import json
import os
import subprocess

import pytest
from oslo_policy import _parser

from artifacts.context import RequestContext
from artifacts.policy import Enforcer
from artifacts.types import image_policies as ip
from conformance import glance_runner
from glare import config, policies

GLANCE_PYTHON = os.path.join(glance_runner.DEFAULT_VENV, "bin", "python")
GLANCE_POLICY_GENERATOR = os.path.join(glance_runner.DEFAULT_VENV, "bin",
                                       "oslopolicy-policy-generator")

DUMP = """
import json
import glance.policies
out = []
for r in glance.policies.list_rules():
    d = r.deprecated_rule
    out.append({"name": r.name, "check_str": r.check_str,
                "scope_types": r.scope_types,
                "deprecated": d and {"name": d.name,
                                     "check_str": d.check_str}})
print(json.dumps(out))
"""


def _normal(check_str):
    """A check string in oslo.policy's canonical form (parsed, printed)."""
    return str(_parser.parse_rule(check_str))


@pytest.fixture(scope="module")
def glance_rules():
    if not os.path.exists(GLANCE_PYTHON):
        pytest.skip("real Glance's venv %s is absent (make glance-venv)"
                    % glance_runner.DEFAULT_VENV)
    out = subprocess.run([GLANCE_PYTHON, "-c", DUMP], check=True,
                         capture_output=True, text=True, timeout=120)
    return {r["name"]: r for r in json.loads(out.stdout)}


def _glare_rules():
    return {r.name: r for r in policies.list_rules()}


def test_every_glance_rule_is_registered_with_its_default(glance_rules):
    glare = _glare_rules()
    assert len(glance_rules) > 60  # the real list, not an empty dump
    for name, want in glance_rules.items():
        assert name in glare, "Glance's rule %s is not registered" % name
        got = glare[name]
        assert _normal(got.check_str) == _normal(want["check_str"]), name
        assert (got.scope_types or None) == (want["scope_types"] or None), \
            name
        if want["deprecated"]:
            assert got.deprecated_rule is not None, name
            assert got.deprecated_rule.name == want["deprecated"]["name"]
            assert _normal(got.deprecated_rule.check_str) == _normal(
                want["deprecated"]["check_str"]), name
        else:
            assert got.deprecated_rule is None, name


def test_glare_adds_only_its_artifact_rules(glance_rules):
    extra = set(_glare_rules()) - set(glance_rules)
    assert extra and all(n.startswith("artifact:") for n in extra), extra


def _enforcer(tmp_path, text, name="policy.yaml"):
    path = tmp_path / name
    path.write_text(text)
    conf = config.load(overrides={"oslo_policy.policy_file": str(path)})
    return Enforcer(conf, policies.list_rules())


def _ctx(project, *roles):
    return RequestContext(project_id=project, user_id="u-" + project,
                          roles=tuple(roles))


# Callers x targets on which a policy file must decide like the defaults.
CALLERS = [_ctx("p1", "admin", "member", "reader"),
           _ctx("p1", "member", "reader"), _ctx("p1", "reader"),
           _ctx("p2", "member", "reader"), _ctx("p2", "service"),
           _ctx("p2")]
TARGETS = [ip.image_target("p1", v, member_id=m)
           for v in ("private", "shared", "public", "community")
           for m in (None, "p2")] + [{"project_id": "p1"}]


def test_glances_generated_policy_file_loads_and_decides_the_same(tmp_path):
    """The file `oslopolicy-policy-generator --namespace glance` writes
    (every Glance rule spelt out) is an operator file Glare must take."""
    if not os.path.exists(GLANCE_POLICY_GENERATOR):
        pytest.skip("real Glance's venv %s is absent (make glance-venv)"
                    % glance_runner.DEFAULT_VENV)
    text = subprocess.run([GLANCE_POLICY_GENERATOR, "--namespace", "glance"],
                          check=True, capture_output=True, text=True,
                          timeout=120).stdout
    assert '"get_image":' in text
    from_file = _enforcer(tmp_path, text)
    defaults = _enforcer(tmp_path, "{}\n", name="empty.yaml")
    glance_names = [r.name for r in ip.RULES]
    for rule in glance_names:
        for caller in CALLERS:
            for target in TARGETS:
                assert from_file.check(caller, rule, target) == \
                    defaults.check(caller, rule, target), (rule, caller,
                                                           target)


LEGACY = """{
    "context_is_admin": "role:admin",
    "default": "role:admin",
    "add_image": "",
    "delete_image": "",
    "get_image": "",
    "get_images": "",
    "modify_image": "",
    "publicize_image": "role:admin",
    "communitize_image": "",
    "copy_from": "",
    "download_image": "",
    "upload_image": "",
    "delete_image_location": "",
    "get_image_location": "",
    "set_image_location": "",
    "add_member": "",
    "delete_member": "",
    "get_member": "",
    "get_members": "",
    "modify_member": "",
    "manage_image_cache": "role:admin",
    "tasks_api_access": "role:admin",
    "deactivate": "",
    "reactivate": "",
    "get_metadef_namespace": "",
    "get_metadef_namespaces": "",
    "add_metadef_namespace": ""
}
"""


@pytest.mark.parametrize("name", ["policy.json", "policy.yaml"])
def test_legacy_policy_file_loads_unchanged(tmp_path, name):
    """An old Glance policy.json (JSON, ``"default": "role:admin"``, a rule
    Glance no longer has) starts Glare, and its rules apply: what it lists
    is open, what it leaves out falls back to ``default`` where Glance's
    rule is ``rule:default`` (the task rules) and to Glance's secure
    default elsewhere."""
    enforcer = _enforcer(tmp_path, LEGACY, name=name)
    member, reader = CALLERS[1], CALLERS[2]
    other = ip.image_target("p9", "private")
    assert enforcer.check(reader, "add_image",
                          {"project_id": "p1", "owner": "p9"})
    assert enforcer.check(reader, "modify_image", other)
    assert not enforcer.check(member, "publicize_image", other)
    assert enforcer.check(reader, "add_metadef_namespace",
                          {"project_id": "p1"})
    # Left out, rule:default → the file's role:admin.
    assert not enforcer.check(member, "get_task", {})
    assert enforcer.check(CALLERS[0], "get_task", {})
    # Left out, a secure default of its own.
    assert not enforcer.check(member, "copy_image", other)
    assert not enforcer.check(reader, "cache_list", {})
    assert "copy_from" in enforcer.rules


def test_deprecated_defaults_apply_when_new_defaults_are_off(tmp_path):
    """``enforce_new_defaults = false`` ORs Glance's old defaults in, as in
    Glance: the cache rules then follow ``manage_image_cache``."""
    path = tmp_path / "policy.yaml"
    path.write_text('"manage_image_cache": "role:cache_keeper"\n')
    conf = config.load(overrides={
        "oslo_policy.policy_file": str(path),
        "oslo_policy.enforce_new_defaults": False})
    legacy = Enforcer(conf, policies.list_rules())
    keeper = _ctx("p1", "cache_keeper")
    assert legacy.check(keeper, "cache_list", {"project_id": "p1"})
    conf = config.load(overrides={"oslo_policy.policy_file": str(path)})
    assert not Enforcer(conf, policies.list_rules()).check(
        keeper, "cache_list", {"project_id": "p1"})
