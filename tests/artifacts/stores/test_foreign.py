"""ForeignStore: owns the locations of storage Glare has no driver for,
refuses to read them with a message a person can act on (never the
credentials), and leaves their data in place on delete."""

import logging

import pytest

from artifacts import errors
from artifacts import stores
from artifacts.stores.foreign import ForeignStore

SWIFT = "swift+https://tenant%3Auser:sw1ftK3y@keystone.example.com/v3/glance/img-1"


@pytest.fixture
def ceph():
    return stores.create("foreign", "ceph", {"schemes": ["rbd"]})


@pytest.fixture
def swift():
    return stores.create("foreign", "swift", {
        "schemes": "swift, swift+https,swift+http,swift+config"})


def test_interface_and_description(ceph):
    assert isinstance(ceph.driver, ForeignStore)
    assert isinstance(ceph, stores.StoreDriver)
    assert ceph.read_only is True and ceph.scheme == "rbd"
    info = ceph.describe()
    assert info == {"id": "ceph", "kind": "foreign", "scheme": "rbd",
                    "schemes": ["rbd"], "read_only": True, "readable": False}


def test_owns_its_schemes_only(ceph, swift):
    assert ceph.owns("rbd://fsid/images/img-1/snap")
    assert ceph.owns("RBD://fsid/images/img-1/snap")
    assert not ceph.owns(SWIFT)
    assert swift.owns(SWIFT) and swift.owns("swift+config://ref1/glance/x")
    for other in ("file:///x", "s3://b/k", "https://h/x", "cinder://v"):
        assert not ceph.owns(other)
    assert stores.owner_of([ceph, swift], SWIFT) is swift
    assert stores.owner_of([ceph, swift], "cinder://vol") is None


def test_open_and_exists_say_why_not(ceph):
    for call in (ceph.open, ceph.exists):
        with pytest.raises(errors.StoreUnavailable) as info:
            call("rbd://fsid/images/img-1/snap")
        assert info.value.message == (
            "Image data in store 'ceph' (rbd://...) cannot be read by this "
            "Glare: no rbd driver is installed.")


def test_credentials_are_never_echoed(swift, caplog):
    with pytest.raises(errors.StoreUnavailable) as info:
        swift.open(SWIFT, 10, 20)
    assert "sw1ftK3y" not in info.value.message
    assert "swift+https" in info.value.message
    with caplog.at_level(logging.WARNING, logger="artifacts.stores.foreign"):
        assert swift.delete(SWIFT) is False
    assert "keystone.example.com/v3/glance/img-1" in caplog.text
    assert "sw1ftK3y" not in caplog.text and "tenant" not in caplog.text


def test_delete_is_a_logged_no_op(ceph, caplog):
    with caplog.at_level(logging.WARNING, logger="artifacts.stores.foreign"):
        assert ceph.delete("rbd://fsid/images/img-1/snap") is False
        assert ceph.delete("rbd://fsid/images/img-1/snap") is False
    assert caplog.text.count("left in the rbd storage") == 2


def test_locations_of_other_schemes_are_invalid(ceph):
    for call in (ceph.open, ceph.exists, ceph.delete):
        with pytest.raises(errors.Invalid):
            call("swift://x/y")


def test_never_writes(ceph):
    with pytest.raises(errors.Forbidden) as info:
        ceph.writer("key")
    assert "'ceph'" in info.value.message
    with pytest.raises(errors.Forbidden):
        ceph.driver.location_for("key")


@pytest.mark.parametrize("options", [
    {}, {"schemes": []}, {"schemes": ["s3"]}, {"schemes": ["file"]},
    {"schemes": ["not a scheme"]}, {"schemes": [3]}, {"schemes": "https"},
], ids=["none", "empty", "native-s3", "native-file", "spaces", "int",
        "native-https"])
def test_bad_options_are_invalid(options):
    with pytest.raises(errors.Invalid):
        stores.create("foreign", "x", options)
