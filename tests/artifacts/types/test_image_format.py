"""Glance's [image_format] rules as the upload inspector applies them."""

import pytest

from artifacts import errors
from artifacts.types import image_format
from artifacts.types.image_format import FormatPolicy
from tests.artifacts.test_engine import _qcow2

STRICT = FormatPolicy()
LENIENT = FormatPolicy(require_match=False)
PLACEHOLDER = b"placeholder image data " * 64   # what Tempest uploads


def inspect(data, disk_format, policy):
    wrapper = image_format.wrap([data[:100], data[100:]])
    for _ in wrapper:
        pass
    return image_format.virtual_size(wrapper, disk_format, policy)


@pytest.mark.parametrize("disk_format", ["qcow2", "vmdk", "vhd", "vhdx",
                                         "vdi", "iso"])
def test_a_mismatch_is_refused_by_default(disk_format):
    with pytest.raises(errors.UnsupportedMediaType) as raised:
        inspect(PLACEHOLDER, disk_format, STRICT)
    assert "does not match stream data raw" in str(raised.value)


@pytest.mark.parametrize("disk_format", ["qcow2", "vmdk", "vhd", "vhdx",
                                         "vdi", "iso", "ami", "raw"])
def test_without_require_match_a_mismatch_is_accepted_without_size(
        disk_format, caplog):
    size = inspect(PLACEHOLDER, disk_format, LENIENT)
    if disk_format == "raw":
        assert size == len(PLACEHOLDER)
    else:
        assert size is None
    if disk_format not in ("raw", "ami"):
        assert "require_image_format_match" in caplog.text


def test_matching_data_keeps_its_virtual_size_either_way():
    data = _qcow2(virtual_size=3 << 30)
    assert inspect(data, "qcow2", STRICT) == 3 << 30
    assert inspect(data, "qcow2", LENIENT) == 3 << 30


@pytest.mark.parametrize("declared", ["qcow2", "vmdk", "raw"])
def test_unsafe_data_is_refused_even_without_require_match(declared):
    """Glare's difference: Glance skips the safety checks of a mismatched
    format when the option is off; a qcow2 naming a backing file is refused
    whatever disk_format it claims."""
    with pytest.raises(errors.UnsupportedMediaType) as raised:
        inspect(_qcow2(backing=True), declared, LENIENT)
    assert "safety checks" in str(raised.value)


def test_configure_sets_the_default_policy():
    try:
        image_format.configure(LENIENT)
        wrapper = image_format.wrap([PLACEHOLDER])
        list(wrapper)
        assert image_format.virtual_size(wrapper, "qcow2") is None
    finally:
        image_format.configure(STRICT)
    with pytest.raises(errors.UnsupportedMediaType):
        inspect(PLACEHOLDER, "qcow2", None)
