"""Disk-format inspection of image data, as it streams (an upload hook).

For a ``bare`` container the bytes are fed to oslo.utils' format inspectors
while they are stored; once the stream ends the detected format must agree
with the declared ``disk_format`` (with Glance's exceptions: raw may hold
anything, uninspectable formats such as ami may hold what looks raw) and
pass the inspector's safety checks (no qcow2 backing or data files, sane
vmdk descriptors, ...).  A refusal is a 415 and, unlike Glance, the engine
then discards the stored bytes and resets the image, so nothing is left
behind.

Glance's ``[image_format]`` options decide what is fatal (``configure``):
with ``require_image_format_match`` off a format that contradicts
``disk_format`` (or data the inspectors cannot parse) is logged and
accepted without a virtual size; ``gpt_safety_checks_nonfatal`` names the
GPT/MBR checks that only warn.  Unlike Glance, the detected format's
safety checks still run on a mismatch: a qcow2 with a backing file is
refused whatever disk_format it claims.
"""

import dataclasses
import logging

from oslo_utils.imageutils import format_inspector

from artifacts import errors

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class FormatPolicy:
    require_match: bool = True
    gpt_nonfatal: frozenset = frozenset()


_policy = FormatPolicy()


def configure(policy):
    """Set the ``[image_format]`` rules (once, when the app is built)."""
    global _policy
    _policy = policy


def wrap(chunks):
    """An iterator over ``chunks`` that inspects them as they pass."""
    return format_inspector.InspectWrapper(iter(chunks))


def _refuse(message):
    # Glance passes these as the detail of its generic 415 sentence.
    return errors.UnsupportedMediaType(message).as_detail()


def virtual_size(wrapper, disk_format, policy=None):
    """The virtual size to record (or None) once the stream has ended;
    raises UnsupportedMediaType when the data must be refused."""
    policy = policy or _policy
    inspector = None
    try:
        matched = {str(i): i for i in (wrapper.formats or [])}
        if matched.keys() == {"iso", "gpt"}:
            # A bootable ISO legitimately carries a GPT in front.
            inspector = matched["iso"]
        else:
            inspector = wrapper.format
        detected = str(inspector)
        size = None
        if detected == disk_format:
            size = inspector.virtual_size
        elif detected == "raw" and \
                disk_format not in format_inspector.ALL_FORMATS:
            size = None         # ami, ari, aki, ploop: not inspectable
        elif disk_format == "raw":
            LOG.warning("Image claims raw but holds %s data", detected)
            size = inspector.actual_size
        elif policy.require_match:
            raise _refuse("Image disk_format %s does not match stream data %s"
                          % (disk_format, detected))
        else:
            LOG.warning("Image disk_format %s does not match stream data %s;"
                        " accepted ([image_format] "
                        "require_image_format_match is off), no virtual size",
                        disk_format, detected)
        inspector.safety_check()
        return size or None
    except errors.ArtifactError:
        raise
    except format_inspector.ImageFormatError as exc:
        if policy.require_match:
            raise _refuse(str(exc))
        LOG.warning("Image format %s did not match (%s); no virtual size",
                    disk_format, exc)
        return None
    except format_inspector.SafetyCheckFailed as exc:
        fatal = set(getattr(exc, "failures", {}) or {}) - policy.gpt_nonfatal
        if str(inspector) == "gpt" and not fatal:
            LOG.warning("Non-fatal GPT safety check failures: %s", exc)
            return None
        LOG.warning("Image data (%s) failed safety checks: %s",
                    inspector, exc)
        raise _refuse("Image failed safety checks")
    except Exception as exc:  # noqa: BLE001 - inspectors parse hostile data
        LOG.warning("Unable to determine stream format: %s", exc)
        if policy.require_match:
            raise _refuse("Image format inspection failed")
        return None
