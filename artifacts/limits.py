"""Limits an operator sets on one artifact, checked by the engine for
every face: counts of free-form properties and tags, and the size of the
metadata (each value, and all of an artifact's properties together).

Metadata size: a database TEXT column (MySQL's, where Glance answers 500)
holds 65535 bytes, and every list page loads the properties of its rows, so
one artifact with megabytes of metadata would make each page that shows it
that much heavier.  A value is measured in UTF-8 bytes (non-strings as
their JSON text); the total counts names and values.  Limits already
exceeded by stored data (set before the limit) do not block a change that
makes the artifact smaller.
"""

import json

from artifacts import errors


class Limits:
    """Numbers an operator sets (Glance's names in glance_compat).  -1 is
    unlimited for the counts and sizes."""

    def __init__(self, max_blob_size=None, max_properties=-1, max_tags=-1,
                 max_members=-1, hashing_algorithm="sha512",
                 delayed_delete=False, stale_upload_seconds=3600,
                 quota_defaults=None, max_property_bytes=65535,
                 max_metadata_bytes=1024 * 1024, job_lease_seconds=30):
        self.max_blob_size = max_blob_size
        self.max_properties = max_properties
        self.max_tags = max_tags
        self.max_members = max_members
        self.hashing_algorithm = hashing_algorithm
        self.delayed_delete = delayed_delete
        self.stale_upload_seconds = stale_upload_seconds
        # Per-project quotas' defaults (artifacts.quotas.QuotaDefaults).
        self.quota_defaults = quota_defaults
        self.max_property_bytes = max_property_bytes
        self.max_metadata_bytes = max_metadata_bytes
        # A data job (artifacts.jobs) whose heartbeat is older than this
        # is taken over by another worker.
        self.job_lease_seconds = job_lease_seconds


def value_bytes(value):
    """The stored size of one property value, in bytes."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    return len(json.dumps(value, ensure_ascii=False).encode(
        "utf-8", "surrogatepass"))


def metadata_bytes(properties):
    """The size of all of an artifact's properties (names and values)."""
    return sum(len(name.encode("utf-8", "surrogatepass")) + value_bytes(v)
               for name, v in properties.items())


def check_artifact(limits, atype, artifact, old=None):
    """Raise when ``artifact`` (a create, or a change from ``old``) breaks
    a limit: 400 for a value over ``max_property_bytes``, 413 for more
    properties, tags or metadata bytes than allowed (Glance's wording for
    the counts)."""
    old = old or {}
    old_props = old.get("properties", {})
    props = artifact["properties"]

    def counted(names):
        return [k for k in names
                if k not in atype.fields and not k.startswith("os_glance")]
    extra, old_extra = counted(props), counted(old_props)
    if limits.max_properties >= 0 and len(extra) > limits.max_properties \
            and len(extra) > len(old_extra):
        raise errors.QuotaExceeded(
            "The limit has been exceeded on the number of allowed %s "
            "properties. Attempted: %d, Maximum: %d"
            % (atype.noun, len(extra), limits.max_properties))
    tags = artifact["tags"]
    if limits.max_tags >= 0 and len(tags) > limits.max_tags \
            and len(tags) > len(old.get("tags", ())):
        raise errors.QuotaExceeded(
            "The limit has been exceeded on the number of allowed %s "
            "tags. Attempted: %d, Maximum: %d"
            % (atype.noun, len(tags), limits.max_tags))
    if limits.max_property_bytes >= 0:
        for name, value in props.items():
            if name in old_props and old_props[name] == value:
                continue
            size = value_bytes(value)
            if size > limits.max_property_bytes:
                raise errors.Invalid(
                    "The value of property '%s' is %d bytes long; a "
                    "property value may be at most %d bytes."
                    % (name[:255], size, limits.max_property_bytes))
    if limits.max_metadata_bytes >= 0:
        size = metadata_bytes(props)
        if size > limits.max_metadata_bytes and \
                size > metadata_bytes(old_props):
            raise errors.RequestTooLarge(
                "The properties of this %s would take %d bytes; a %s's "
                "properties may take at most %d bytes in all."
                % (atype.noun, size, atype.noun, limits.max_metadata_bytes))
