"""Artifacts of the ``images`` type rendered as Glance image JSON.

Key order, null handling and timestamp format follow Glance's serializer:
extra properties first, then the base attributes in Glance's order, then
``locations``/``direct_url`` when the operator enabled them, then tags and
the links.  Every base key is present, ``null`` when unset.
"""

import json

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

BASE_ORDER_1 = ("name", "disk_format", "container_format", "visibility",
                "size", "virtual_size", "status", "checksum", "protected",
                "min_ram", "min_disk", "owner", "os_hidden", "os_hash_algo",
                "os_hash_value", "id", "created_at", "updated_at")

# Internal bookkeeping Glance never shows (its serializer's
# _hidden_properties); every other os_glance_* property is shown.
HIDDEN_PROPERTIES = ("os_glance_stage_host", "os_glance_hash_op_host")

# Fields of the images type that are Glance base attributes.
TYPE_FIELDS = ("disk_format", "container_format", "size", "virtual_size",
               "checksum", "min_ram", "min_disk", "os_hash_algo",
               "os_hash_value")


def timestamp(value):
    return value.strftime(TIME_FORMAT) if value is not None else None


def image_view(artifact, settings, is_admin=False):
    """The image dict Glance would return for this artifact."""
    props = artifact["properties"]
    out = {}
    custom = settings.custom_property_names
    for key, value in props.items():
        if key in TYPE_FIELDS or key in HIDDEN_PROPERTIES:
            continue
        if value is None and key not in custom:
            value = ""
        out[key] = value
    base = {
        "name": artifact["name"], "visibility": artifact["visibility"],
        "status": artifact["status"], "protected": artifact["protected"],
        "owner": artifact["owner"], "os_hidden": artifact["hidden"],
        "id": artifact["id"],
        "created_at": timestamp(artifact["created_at"]),
        "updated_at": timestamp(artifact["updated_at"]),
    }
    for key in BASE_ORDER_1:
        if key in base:
            out[key] = base[key]
        else:
            out[key] = props.get(key)
    if out["min_ram"] is None:
        out["min_ram"] = 0
    if out["min_disk"] is None:
        out["min_disk"] = 0
    image_locations = image_locations_of(artifact, settings)
    locations = []
    if is_admin or artifact["status"] != "deactivated":
        locations = [{"url": loc["url"], "metadata": loc["metadata"]}
                     for loc in image_locations]
    if settings.show_multiple_locations:
        out["locations"] = locations
    if settings.show_image_direct_url and locations:
        out["direct_url"] = locations[0]["url"]
    image_id = artifact["id"]
    # A set: Glance sends it in hash order, which differs between worker
    # processes; sorted, a list item equals the image GET returns.
    out["tags"] = sorted(artifact["tags"])
    out["self"] = "/v2/images/%s" % image_id
    out["file"] = "/v2/images/%s/file" % image_id
    out["schema"] = "/v2/schemas/image"
    # From the locations the caller may see: like Glance, no ``stores``
    # for a deactivated image's non-admin reader (its locations are
    # hidden).
    stores = [loc["metadata"]["store"] for loc in locations
              if loc["metadata"].get("store")]
    if settings.multi_store and stores:
        out["stores"] = ",".join(dict.fromkeys(stores))
    return out


def image_locations_of(artifact, settings):
    """The image's active locations as Glance shows them: highest store
    weight first, and (multi-store) the store id in the metadata, where
    Glance keeps it."""
    weights = {s.id: s.weight for s in settings.stores}
    found = [loc for b in artifact["blobs"]
             if b["field"] == "image" and b["status"] == "active"
             for loc in b["locations"]]
    found = [loc for _, loc in sorted(
        enumerate(found), key=lambda p: (-weights.get(p[1]["store"], 0),
                                         p[0]))]
    out = []
    for loc in found:
        metadata = dict(loc["metadata"])
        if settings.multi_store and loc["store"]:
            metadata.setdefault("store", loc["store"])
        out.append(dict(loc, metadata=metadata))
    return out


def member_view(row):
    return {"member_id": row["member"], "image_id": row["artifact_id"],
            "status": row["status"],
            "created_at": timestamp(row["created_at"]),
            "updated_at": timestamp(row["updated_at"]),
            "schema": "/v2/schemas/member"}


def dumps(obj):
    """JSON as Glance sends it: UTF-8, non-ASCII characters raw."""
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")
