"""inject_image_metadata: Glance's ignore_user_roles and inject."""

from artifacts.image_import import Plugins
from artifacts.image_import.injection import Injection


def test_injects_for_users_without_an_ignored_role():
    plugin = Injection({"hw_firmware": "uefi", "site": "a"}, ["admin"])
    assert plugin.properties_for(["member", "reader"]) == {
        "hw_firmware": "uefi", "site": "a"}
    assert plugin.properties_for(["member", "admin"]) == {}
    assert Injection({"k": "v"}, []).properties_for(["admin"]) == {"k": "v"}


def test_reserved_and_core_names_are_dropped():
    plugin = Injection({"os_glance_import_task": "x", "os_glance": "y",
                        "name": "n", "keep": "1"}, ["admin"],
                       reserved_names={"name"})
    assert plugin.properties_for(["member"]) == {"keep": "1"}


def test_only_when_configured_as_a_plugin():
    injection = Injection({"k": "v"})
    assert Plugins([], injection=injection).injected(["member"]) == {}
    assert Plugins(["inject_image_metadata"], injection=injection).injected(
        ["member"]) == {"k": "v"}
