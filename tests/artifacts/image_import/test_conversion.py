"""image_conversion with the real qemu-img (Debian's qemu-utils): the
conversion itself and what Glance refuses, in Glance's words."""

import os
import shutil
import subprocess

import pytest

from artifacts import errors
from artifacts.image_import import conversion
from artifacts.image_import.conversion import Conversion
from tests.artifacts.image_import.test_decompression import Work

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None,
                                reason="qemu-img (Debian qemu-utils) is "
                                       "not installed")
MiB = 1 << 20


def qemu_img(*args):
    subprocess.run(("qemu-img",) + args, check=True, capture_output=True)


def _image(disk_format):
    return {"id": "img", "properties": {"disk_format": disk_format,
                                        "container_format": "bare"}}


@pytest.fixture
def raw(tmp_path):
    path = tmp_path / "disk.raw"
    path.write_bytes(os.urandom(MiB) + b"\0" * MiB + os.urandom(MiB))
    return path


def _run(plugin, tmp_path, path, disk_format, beat=lambda n: None):
    work = Work(tmp_path, path)
    return work, plugin.run(work, _image(disk_format), beat)


def test_qcow2_becomes_raw_with_glances_attributes(tmp_path, raw):
    qcow2 = tmp_path / "disk.qcow2"
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2))
    work, values = _run(Conversion(), tmp_path, qcow2, "qcow2")
    assert work.changed and work.path != str(qcow2)
    assert open(work.path, "rb").read() == raw.read_bytes()
    assert values == {"virtual_size": 3 * MiB, "disk_format": "raw",
                      "container_format": "bare", "size": 3 * MiB}


def test_raw_becomes_qcow2(tmp_path, raw):
    work, values = _run(Conversion("qcow2"), tmp_path, raw, "raw")
    assert values["disk_format"] == "qcow2" and values["virtual_size"] == \
        3 * MiB
    assert values["size"] == os.path.getsize(work.path) < 4 * MiB
    back = tmp_path / "back.raw"
    qemu_img("convert", "-f", "qcow2", "-O", "raw", work.path, str(back))
    assert back.read_bytes() == raw.read_bytes()


def test_data_already_in_the_output_format_is_kept(tmp_path, raw):
    work, values = _run(Conversion(), tmp_path, raw, "raw")
    assert values == {"virtual_size": 3 * MiB} and not work.changed


def test_format_mismatch_is_refused(tmp_path, raw):
    with pytest.raises(errors.Invalid, match="^Image format mismatch$"):
        _run(Conversion(), tmp_path, raw, "qcow2")


def test_backing_file_is_refused(tmp_path, raw):
    child = tmp_path / "child.qcow2"
    qemu_img("create", "-f", "qcow2", "-F", "raw", "-b", str(raw),
             str(child))
    with pytest.raises(errors.Invalid,
                       match="^Image has disallowed configuration$"):
        _run(Conversion(), tmp_path, child, "qcow2")


def test_external_data_file_is_refused(tmp_path):
    image = tmp_path / "ext.qcow2"
    qemu_img("create", "-f", "qcow2", "-o",
             "data_file=%s" % (tmp_path / "ext.data"), str(image), "1M")
    with pytest.raises(errors.Invalid,
                       match="^Image has disallowed configuration$"):
        _run(Conversion(), tmp_path, image, "qcow2")


@pytest.mark.parametrize("allowed, message", [
    ((), "Image is a VMDK, but no VMDK createType is specified"),
    (("streamOptimized",), "Invalid VMDK create-type specified")])
def test_vmdk_create_types_follow_vmdk_allowed_types(tmp_path, raw, allowed,
                                                     message):
    vmdk = tmp_path / "disk.vmdk"
    qemu_img("convert", "-f", "raw", "-O", "vmdk", "-o",
             "subformat=monolithicSparse", str(raw), str(vmdk))
    with pytest.raises(errors.Invalid, match="^%s$" % message):
        _run(Conversion(vmdk_allowed_types=allowed), tmp_path, vmdk, "vmdk")
    work, values = _run(Conversion(vmdk_allowed_types=(
        "streamOptimized", "monolithicSparse")), tmp_path, vmdk, "vmdk")
    assert values["disk_format"] == "raw"
    assert open(work.path, "rb").read() == raw.read_bytes()


def test_sparse_image_larger_than_the_bound_is_not_converted(tmp_path):
    big = tmp_path / "big.qcow2"
    qemu_img("create", "-f", "qcow2", str(big), "1G")
    with pytest.raises(errors.RequestTooLarge, match="virtual size"):
        _run(Conversion(max_bytes=64 * MiB), tmp_path, big, "qcow2")
    assert sorted(os.listdir(tmp_path)) == ["big.qcow2"]


def test_garbage_claiming_qcow2_is_refused_before_qemu_img(tmp_path,
                                                           monkeypatch):
    bad = tmp_path / "bad.qcow2"
    bad.write_bytes(b"QFI\xfb" + b"\xff" * 4096)
    monkeypatch.setattr(conversion, "QEMU_IMG", "/nonexistent/qemu-img")
    with pytest.raises(errors.Invalid):
        _run(Conversion(), tmp_path, bad, "qcow2")


def test_missing_qemu_img_is_a_clear_error(tmp_path, raw, monkeypatch):
    qcow2 = tmp_path / "disk.qcow2"
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2))
    monkeypatch.setattr(conversion, "QEMU_IMG", "/nonexistent/qemu-img")
    with pytest.raises(errors.StoreUnavailable, match="qemu-img cannot be"):
        _run(Conversion(), tmp_path, qcow2, "qcow2")


def test_bad_output_format_is_refused():
    with pytest.raises(ValueError):
        Conversion("vdi")
