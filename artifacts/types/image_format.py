"""Disk-format inspection of image data, as it streams (an upload hook).

For a ``bare`` container the bytes are fed to oslo.utils' format inspectors
while they are stored; once the stream ends the detected format must agree
with the declared ``disk_format`` (with Glance's exceptions: raw may hold
anything, uninspectable formats such as ami may hold what looks raw) and
pass the inspector's safety checks (no qcow2 backing or data files, sane
vmdk descriptors, ...).  A refusal is a 415 and, unlike Glance, the engine
then discards the stored bytes and resets the image, so nothing is left
behind.
"""

import logging

from oslo_utils.imageutils import format_inspector

from artifacts import errors

LOG = logging.getLogger(__name__)


def wrap(chunks):
    """An iterator over ``chunks`` that inspects them as they pass."""
    return format_inspector.InspectWrapper(iter(chunks))


def _refuse(message):
    # Glance passes these as the detail of its generic 415 sentence.
    return errors.UnsupportedMediaType(message).as_detail()


def virtual_size(wrapper, disk_format):
    """The virtual size to record (or None) once the stream has ended;
    raises UnsupportedMediaType when the data must be refused."""
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
        else:
            raise _refuse("Image disk_format %s does not match stream data %s"
                          % (disk_format, detected))
        inspector.safety_check()
        return size or None
    except errors.ArtifactError:
        raise
    except format_inspector.ImageFormatError as exc:
        raise _refuse(str(exc))
    except format_inspector.SafetyCheckFailed as exc:
        LOG.warning("Image data (%s) failed safety checks: %s",
                    inspector, exc)
        raise _refuse("Image failed safety checks")
    except Exception as exc:  # noqa: BLE001 - inspectors parse hostile data
        LOG.warning("Unable to determine stream format: %s", exc)
        raise _refuse("Image format inspection failed")
