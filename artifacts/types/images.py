"""The ``images`` type: what the Glance Image API v2 facade stores.

Its lifecycle is Glance's image status machine, its policy rules carry
Glance's rule names, and its free-form string properties are Glance's
"extra properties", so the facade can translate one to one and a migrated
Glance row keeps every status (a ``killed`` image stays ``killed``).
"""

from artifacts import errors
from artifacts.types import image_format, register
from artifacts.types.base import ArtifactType, DataFlow, Field

# Glance's 413 sentence when image data exceeds image_size_cap.
TOO_LARGE = "The incoming image is too large: The provided image is too large."


def require_formats(ctx, artifact, field="image", **_):
    """Data needs its formats first (Glance answers 400 the same way);
    staging does not (the formats are checked at import)."""
    if field != "image":
        return
    props = artifact["properties"]
    missing = [f for f in ("disk_format", "container_format")
               if not props.get(f)]
    if len(missing) == 2:
        raise errors.Invalid("Properties disk_format, container_format must "
                             "be set prior to saving data.")
    if missing:
        raise errors.Invalid("Property %s must be set prior to saving data."
                             % missing[0])


def inspect_stream(ctx, artifact, chunks, field="image", **_):
    """Upload filter: inspect the disk format of ``bare`` images while the
    bytes stream (other containers are not inspected, as in Glance; staged
    data is inspected when it is imported)."""
    if field != "image" or \
            artifact["properties"].get("container_format") != "bare":
        return chunks, None
    wrapper = image_format.wrap(chunks)
    return wrapper, wrapper


def record_data(ctx, artifact, result, algorithm, states=(), field="image",
                **_):
    """System fields that describe the uploaded data; refuses data whose
    inspected format contradicts disk_format (the engine then discards
    it).  Staged data records only its size, as Glance does."""
    if field != "image":
        return {"size": result.size}
    props = artifact["properties"]
    virtual_size = None
    for state in states:
        if state is not None:
            virtual_size = image_format.virtual_size(
                state, props.get("disk_format"))
    return {"size": result.size, "checksum": result.digests["md5"],
            "os_hash_algo": algorithm,
            "os_hash_value": result.digests[algorithm],
            "virtual_size": virtual_size}


def record_registered(ctx, artifact, size, digests, algorithm,
                      field="image", **_):
    """data_registered hook: what data registered by URL (the v2.17
    location API) sets, as Glance's location import does: its size and
    os_hash_algo when it becomes the image's data, checksum and
    os_hash_value once it was read (``digests``); all None when the
    registration is undone."""
    if field != "image":
        return {}
    digests = digests or {}
    return {"size": size, "os_hash_algo": algorithm,
            "checksum": digests.get("md5"),
            "os_hash_value": digests.get(algorithm)}


# Glance's progress properties of an import into several stores.
IMPORTING = "os_glance_importing_to_stores"
FAILED_IMPORT = "os_glance_failed_import"
# Glance's import lock: the id of the task importing into the image (or of
# the batch of data jobs registering a location).
IMPORT_TASK = "os_glance_import_task"
IMPORT_LOCK = IMPORT_TASK


def copy_progress(ctx, artifact, store, failed, **_):
    """data_job_done hook: a store is no longer being imported to, and a
    failed one is listed as failed, as Glance's import task records it."""
    props = artifact["properties"]
    values = {IMPORTING: ",".join(
        s for s in (props.get(IMPORTING) or "").split(",")
        if s and s != store)}
    if failed:
        done = [s for s in (props.get(FAILED_IMPORT) or "").split(",") if s]
        values[FAILED_IMPORT] = ",".join(done + [store])
    return values


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
        "copy": "copy_image", "get_location": "get_image_location",
        "set_location": "set_image_location",
        "delete_location": "delete_image_location",
        "add_location": "add_image_location",
        "fetch_location": "fetch_image_location",
        "download_from_store": "download_from_store",
    },
    data_flows={
        "image": DataFlow(via="saving", to="active", too_large=TOO_LARGE,
                          checking="importing"),
        "staging": DataFlow(via="uploading", to="uploading", staging=True,
                            importing="importing", too_large=TOO_LARGE,
                            rule="update"),
    },
    digests=("md5", "configured"),
    task_lock=IMPORT_TASK,
    hooks={"data_job_done": [copy_progress],
           "data_registered": [record_registered],
           "pre_upload": [require_formats],
           "upload_filter": [inspect_stream],
           "post_upload": [record_data]},
))
