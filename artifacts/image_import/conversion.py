"""The ``image_conversion`` import plugin: staged data is converted with
``qemu-img`` to ``[image_conversion] output_format`` (raw by default)
before it is imported, with Glance 33's checks in Glance's order:

1. the file is inspected by oslo.utils' format inspectors first (qemu-img
   never sees data that fails their safety checks; GPT checks named in
   ``gpt_safety_checks_nonfatal`` only warn); GPT counts as raw;
2. an ISO stays as it is when the image says iso and is refused
   otherwise; any other detected format must be the image's disk_format;
3. ``qemu-img info`` (under Glance's limits: 1 GiB of address space, 2 s
   of CPU) must agree on the format; its virtual size is recorded; a
   backing file or a qcow2 external data file is refused; a vmdk must
   name a create-type listed in ``[image_format] vmdk_allowed_types``;
4. data already in the output format is not converted;
5. ``qemu-img convert``, then the output is inspected again and must be
   the output format (a format hidden in another is refused).

The image then has the output format as disk_format, ``bare`` as
container_format and the new size (checksum and os_hash are computed from
the converted data when it is imported).  Refusals carry Glance's words
and fail the import (400).  qemu-img works on files of the import's work
directory, never on data in memory; its output is removed on failure.
"""

import json
import logging
import os
import resource
import subprocess
import time

from oslo_utils.imageutils import format_inspector

from artifacts import errors

LOG = logging.getLogger(__name__)

OUTPUT_FORMATS = ("qcow2", "raw", "vmdk")
QEMU_IMG = "qemu-img"
# Glance's QEMU_IMG_PROC_LIMITS for ``qemu-img info``.
INFO_ADDRESS_SPACE = 1 << 30
INFO_CPU_SECONDS = 2


def _refuse(message):
    return errors.Invalid(message)


def inspect(path, gpt_nonfatal=frozenset()):
    """The format inspector of the file at ``path`` after its safety
    checks, or Invalid with Glance's words."""
    inspector = None
    try:
        inspector = format_inspector.detect_file_format(path)
        inspector.safety_check()
    except format_inspector.SafetyCheckFailed as exc:
        fatal = set(getattr(exc, "failures", {}) or {}) - set(gpt_nonfatal)
        if inspector is not None and inspector.NAME == "gpt" and not fatal:
            LOG.warning("Non-fatal %s", exc)
        else:
            LOG.error("%s %s", inspector, exc)
            raise _refuse("Image has disallowed configuration")
    except format_inspector.ImageFormatError as exc:
        LOG.error("Image failed format inspection: %s", exc)
        raise _refuse("Image format detection failed")
    except Exception as exc:  # noqa: BLE001 - inspectors parse hostile data
        LOG.exception("Unknown error inspecting image format: %s", exc)
        raise _refuse("Unable to inspect image")
    return inspector


def _detected(inspector):
    name = str(inspector)
    return "raw" if name == "gpt" else name


def _limit_info():
    resource.setrlimit(resource.RLIMIT_AS, (INFO_ADDRESS_SPACE,
                                            INFO_ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CPU, (INFO_CPU_SECONDS,
                                             INFO_CPU_SECONDS))


def _qemu_img(args, beat, limits=None):
    """Run qemu-img, heartbeating while it works; (stdout, stderr)."""
    try:
        proc = subprocess.Popen([QEMU_IMG] + args, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                preexec_fn=limits, close_fds=True)
    except OSError as exc:
        LOG.error("Cannot run qemu-img: %s", exc)
        raise errors.StoreUnavailable(
            "Image conversion is not available: qemu-img cannot be run "
            "(%s)." % exc.strerror)
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=5)
                break
            except subprocess.TimeoutExpired:
                beat(0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode and not err:
        err = b"qemu-img exited with status %d" % proc.returncode
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class Conversion:
    """The plugin: see the module docstring."""

    name = "image_conversion"

    def __init__(self, output_format="raw", vmdk_allowed_types=(),
                 gpt_nonfatal=frozenset(), max_bytes=None):
        if output_format not in OUTPUT_FORMATS:
            raise ValueError("output_format must be one of %s"
                             % ", ".join(OUTPUT_FORMATS))
        self.max_bytes = max_bytes
        self.output_format = output_format
        self.vmdk_allowed_types = tuple(vmdk_allowed_types)
        self.gpt_nonfatal = frozenset(gpt_nonfatal)

    def run(self, work, image, beat):
        source_format = image["properties"].get("disk_format")
        target = self.output_format
        detected = _detected(inspect(work.path, self.gpt_nonfatal))
        if detected == "iso":
            if source_format == "iso":
                LOG.debug("Not converting iso image %s", image["id"])
                return None
            LOG.error("Image claimed to be %s format but format inspection "
                      "found: ISO", source_format)
            raise _refuse("Image has disallowed configuration")
        if detected != source_format:
            LOG.error("Image claimed to be %s format failed format "
                      "inspection", source_format)
            raise _refuse("Image format mismatch")
        values = {"virtual_size": self._check_info(work.path, source_format,
                                                   beat)}
        if source_format == target:
            LOG.debug("Image %s is already %s; not converting", image["id"],
                      target)
            return values
        if target == "raw" and self.max_bytes is not None and \
                values["virtual_size"] > self.max_bytes:
            # A small sparse image would become this many bytes of raw.
            raise errors.RequestTooLarge(
                "The image's virtual size (%d bytes) is larger than %d "
                "bytes, the most this site converts to raw; the import was "
                "stopped." % (values["virtual_size"], self.max_bytes))
        dest = work.new_file(target)
        started = time.monotonic()
        try:
            _, err = _qemu_img(["convert", "-f", source_format, "-O", target,
                                work.path, dest], beat)
            if err:
                raise _refuse(err.strip())
            converted = _detected(inspect(dest, self.gpt_nonfatal))
            if converted != target:
                LOG.error("Image detected as %s after conversion to %s",
                          converted, target)
                raise _refuse("Converted image in unexpected format")
        except BaseException:
            if os.path.exists(dest):
                os.unlink(dest)
            raise
        work.replace(dest)
        size = os.path.getsize(work.path)
        LOG.info("Converted image %s from %s to %s (%d bytes) in %.1f s",
                 image["id"], source_format, target, size,
                 time.monotonic() - started)
        return dict(values, disk_format=target, container_format="bare",
                    size=size)

    def _check_info(self, path, source_format, beat):
        """``qemu-img info`` of the staged file; its virtual size, or
        Invalid for what Glance refuses."""
        out, err = _qemu_img(["info", "-f", source_format, "--output=json",
                              path], beat, limits=_limit_info)
        if err:
            raise _refuse(err.strip())
        try:
            info = json.loads(out)
        except ValueError:
            raise _refuse("Image metadata could not be read by qemu-img")
        if info.get("format") != source_format:
            LOG.error("Image claiming to be %s reported as %s by qemu-img",
                      source_format, info.get("format", "unknown"))
            raise _refuse("Image metadata disagrees about format")
        if "backing-filename" in info:
            LOG.warning("Refusing to process QCOW image with a backing file")
            raise _refuse("QCOW images with backing files are not allowed")
        specific = (info.get("format-specific") or {}).get("data") or {}
        if specific.get("data-file") is not None:
            raise _refuse("QCOW images with data-file set are not allowed")
        if info.get("format") == "vmdk":
            self._check_vmdk(specific.get("create-type"))
        return info.get("virtual-size", 0)

    def _check_vmdk(self, create_type):
        allowed = self.vmdk_allowed_types
        if not create_type:
            raise _refuse("Unable to determine VMDK create-type")
        if not allowed:
            LOG.warning("Refusing to process VMDK file as vmdk_allowed_types "
                        "is empty")
            raise _refuse("Image is a VMDK, but no VMDK createType is "
                          "specified")
        if create_type not in allowed:
            LOG.warning("Refusing to process VMDK file with create-type of "
                        "%r which is not in allowed set of: %s", create_type,
                        ",".join(allowed))
            raise _refuse("Invalid VMDK create-type specified")
