"""The ``images`` type: what the Glance Image API v2 facade stores.

Its lifecycle is Glance's image status machine, its policy rules carry
Glance's rule names, and its free-form string properties are Glance's
"extra properties", so the facade can translate one to one and a migrated
Glance row keeps every status (a ``killed`` image stays ``killed``).
"""

from artifacts import errors
from artifacts.types import register
from artifacts.types.base import ArtifactType, Field


def require_formats(ctx, artifact, **_):
    """Data needs its formats first (Glance answers 400 the same way)."""
    props = artifact["properties"]
    missing = [f for f in ("disk_format", "container_format")
               if not props.get(f)]
    if len(missing) == 2:
        raise errors.Invalid("Properties disk_format, container_format must "
                             "be set prior to saving data.")
    if missing:
        raise errors.Invalid("Property %s must be set prior to saving data."
                             % missing[0])


def record_data(ctx, artifact, result, algorithm, **_):
    """System fields that describe the uploaded data."""
    props = artifact["properties"]
    virtual_size = None
    # Without format inspection only raw data has a known virtual size
    # (its size); Glance likewise leaves it null when it cannot tell.
    if (props.get("disk_format") == "raw"
            and props.get("container_format") == "bare"):
        virtual_size = result.size
    return {"size": result.size, "checksum": result.digests["md5"],
            "os_hash_algo": algorithm,
            "os_hash_value": result.digests[algorithm],
            "virtual_size": virtual_size}


IMAGE_DATA_FIELDS = ("size", "virtual_size", "checksum", "os_hash_algo",
                     "os_hash_value")

IMAGES = register(ArtifactType(
    name="images",
    noun="image",
    fields={
        "disk_format": Field("string", sortable=True, max_length=20,
                             mutable=False),
        "container_format": Field("string", sortable=True, max_length=20,
                                  mutable=False),
        "min_ram": Field("integer", default=0, nullable=False, min_value=0),
        "min_disk": Field("integer", default=0, nullable=False, min_value=0),
        "size": Field("integer", system=True, sortable=True,
                      filter_ops=("eq", "gte", "lte")),
        "virtual_size": Field("integer", system=True,
                              filter_ops=("eq", "gte", "lte")),
        "checksum": Field("string", system=True, max_length=32),
        "os_hash_algo": Field("string", system=True, max_length=64),
        "os_hash_value": Field("string", system=True, max_length=128),
        "image": Field("blob"),
    },
    statuses=("queued", "saving", "active", "killed", "deleted",
              "uploading", "importing", "pending_delete", "deactivated"),
    initial_status="queued",
    transitions={
        "queued": {"saving", "uploading", "importing", "active", "deleted"},
        "saving": {"active", "killed", "deleted", "queued"},
        "uploading": {"importing", "queued", "deleted"},
        "importing": {"active", "deleted", "queued"},
        "active": {"pending_delete", "deleted", "deactivated"},
        "killed": {"deleted"},
        "pending_delete": {"deleted", "active"},
        "deactivated": {"active", "deleted"},
        "deleted": set(),
    },
    default_visibility="shared",
    unlisted_statuses=("killed",),
    extra_properties=True,
    policy_rules={
        "create": "add_image", "list": "get_images", "get": "get_image",
        "update": "modify_image", "delete": "delete_image",
        "upload": "upload_image", "download": "download_image",
        "deactivate": "deactivate", "reactivate": "reactivate",
        "publicize": "publicize_image", "communitize": "communitize_image",
        "add_member": "add_member", "delete_member": "delete_member",
        "get_member": "get_member", "get_members": "get_members",
        "modify_member": "modify_member",
    },
    hooks={"pre_upload": [require_formats], "post_upload": [record_data]},
))
