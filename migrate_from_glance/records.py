"""One Glance image (its row and live child rows) as Glare's rows.

``build(image, kids, ctx)`` returns a ``Record``: the ``artifacts`` row,
the ``artifact_properties`` rows, tags, members and the ``image`` blob with
its locations, exactly as ``glance_compat.serialize`` needs them to render
the image as Glance does (ids, owner, status, visibility, protected,
os_hidden, size, checksum, os_hash_*, formats, min_disk/min_ram,
created_at/updated_at, extra properties, tags, members, active locations
with their metadata in Glance's order).  A row that breaks one of Glare's
rules raises ``Problem`` naming the image and the rule, so the image is
left out whole instead of half-written.

Deleted images become a bare ``artifacts`` row (deleted, not served) that
keeps their id reserved; their data stays Glance's scrubber's business.
Only ``active`` locations move: the others are data Glance is deleting.
"""

import dataclasses
import json
import os
import stat

from artifacts import errors, limits
from artifacts.db import api as db
from artifacts.ids import is_canonical_uuid
from artifacts.types.images import IMAGES
from artifacts.versions import sort_key
from glance_compat.patch import BASE
from migrate_from_glance import crypt
from migrate_from_glance.source import BadText

TYPE = IMAGES.name
VISIBILITIES = ("private", "public", "shared", "community")
# Extra property names that would collide with a base attribute or with a
# declared field of the images type (Glance's API refuses them too).
RESERVED = frozenset(BASE) | frozenset(IMAGES.fields) | {"deleted",
                                                          "deleted_at"}
FIELD_PROPS = ("disk_format", "container_format", "size", "virtual_size",
               "checksum", "os_hash_algo", "os_hash_value")
DIGEST_COLUMNS = ("sha1", "sha256", "sha512")
VERSION_SORT = sort_key((0, 0, 0, "", ""))
MAX_TEXT = 255


class Problem(Exception):
    """An image that cannot move as it is (its id and the reason)."""

    def __init__(self, image_id, reason):
        super().__init__("image %s: %s" % (image_id, reason))
        self.image_id = image_id
        self.reason = reason


class Fatal(Exception):
    """Something that stops the whole run (not one image's fault)."""


@dataclasses.dataclass
class Context:
    """What building records needs from the target."""
    stores: object                  # artifacts.stores.placement.StoreSet
    limits: object                  # artifacts.limits.Limits
    store_map: dict                 # Glance store id -> Glare store id
    encryption_key: str | None = None
    check_files: bool = True
    owners: dict = dataclasses.field(default_factory=dict)

    def owner_of(self, url, linked=False):
        """``stores.owner_of`` remembered per URL prefix (all but the last
        path segment: a directory, a bucket, a container), which decides
        ownership for every driver; a symbolic link is always asked."""
        if linked:
            return self.stores.owner_of(url)
        prefix = url.rsplit("/", 1)[0]
        if prefix not in self.owners:
            self.owners[prefix] = self.stores.owner_of(url)
        return self.owners[prefix]

    def owns(self, store_id, url, linked=False):
        """Whether store ``store_id`` serves ``url`` (remembered likewise)."""
        driver = self.stores.drivers[store_id]
        if linked:
            return driver.owns(url)
        key = (store_id, url.rsplit("/", 1)[0])
        if key not in self.owners:
            self.owners[key] = driver.owns(url)
        return self.owners[key]


@dataclasses.dataclass
class Record:
    id: str
    deleted: bool
    row: dict
    properties: list
    tags: list
    members: list
    blob: dict | None               # artifact_blobs values (no ids)
    locations: list                 # blob_locations values (no blob_id)
    counts: dict
    copied: dict | None = None      # a --copy-data copy kept (state row)


def _check_text(image_id, what, value, limit=None):
    if isinstance(value, BadText):
        raise Problem(image_id, "%s %s is not valid UTF-8; fix it in "
                      "Glance's database." % (what, str(value)[:80]))
    if isinstance(value, str):
        if "\x00" in value:
            raise Problem(image_id, "%s %r contains a NUL character."
                          % (what, value[:80]))
        if limit is not None and len(value) > limit:
            raise Problem(image_id, "%s is %d characters long; at most %d "
                          "fit." % (what, len(value), limit))
    return value


def _reserved_row(image, stamp_time):
    """The bare row of a deleted image: its id stays taken."""
    name = image.name if isinstance(image.name, str) and \
        not isinstance(image.name, BadText) and "\x00" not in image.name \
        else None
    return _row(image, name=name[:MAX_TEXT] if name else None,
                updated_at=image.updated_at or stamp_time,
                deleted_at=image.deleted_at or image.updated_at or stamp_time)


def _row(image, **over):
    row = dict(
        id=image.id, type_name=TYPE, name=image.name, owner=image.owner,
        visibility=image.visibility, status=image.status,
        protected=bool(image.protected), hidden=bool(image.os_hidden),
        deleted=bool(image.deleted), version_major=0, version_minor=0,
        version_patch=0, version_prerelease="", version_build="",
        version_sort=VERSION_SORT, unique_key=None, revision=0,
        created_at=image.created_at, updated_at=image.updated_at,
        deleted_at=image.deleted_at if image.deleted else None)
    row.update(over)
    return row


def build(image, kids, ctx, copied=None):
    """The Record of one Glance image; raises Problem or Fatal."""
    image_id = image.id
    if isinstance(image_id, BadText) or len(image_id) > 36:
        raise Problem(str(image_id), "the id is not valid text of at most "
                      "36 characters.")
    if image.created_at is None:
        raise Problem(image_id, "created_at is NULL.")
    if image.deleted:
        return Record(image_id, True, _reserved_row(image, image.created_at),
                      [], [], [], None, [], {})
    if not is_canonical_uuid(image_id):
        raise Problem(image_id, "the id is not a UUID in canonical lowercase "
                      "form; Glare addresses images only by such ids.")
    if image.updated_at is None:
        raise Problem(image_id, "updated_at is NULL (Glance's schema allows "
                      "it; Glare shows every image's update time): set it "
                      "in Glance's database, e.g. to created_at.")
    _check_text(image_id, "name", image.name, MAX_TEXT)
    _check_text(image_id, "owner", image.owner, MAX_TEXT)
    if image.status not in IMAGES.statuses:
        raise Problem(image_id, "status %r is not one of Glance's statuses."
                      % (image.status,))
    if image.visibility not in VISIBILITIES:
        raise Problem(image_id, "visibility %r is not one of %s."
                      % (image.visibility, ", ".join(VISIBILITIES)))
    props = {"min_ram": image.min_ram or 0, "min_disk": image.min_disk or 0}
    for field in FIELD_PROPS:
        value = getattr(image, field)
        if value is not None:
            props[field] = _check_text(image_id, field, value, MAX_TEXT)
    for row in kids["properties"]:
        name, value = row.name, row.value
        if type(name) is not str or len(name) > MAX_TEXT or "\x00" in name:
            _check_text(image_id, "a property name", name, MAX_TEXT)
        if name in RESERVED:
            raise Problem(image_id, "property %r has the name of an image "
                          "attribute." % name)
        if type(value) is not str or "\x00" in value:
            _check_text(image_id, "property %r" % name, value)
        props[name] = value
    tags = []
    for row in kids["tags"]:
        tags.append(_check_text(image_id, "tag", row.value, MAX_TEXT))
    tags = list(dict.fromkeys(tags))
    members = _members(image_id, kids["members"])
    if _may_break_limits(ctx.limits, props, tags):
        try:
            limits.check_artifact(ctx.limits, IMAGES, {
                "properties": props, "tags": set(tags)})
        except errors.ArtifactError as exc:
            raise Problem(image_id, str(exc)) from None
    if ctx.limits.max_members >= 0 and len(members) > ctx.limits.max_members:
        raise Problem(image_id, "%d members; at most %d are allowed "
                      "(image_member_quota)." % (len(members),
                                                 ctx.limits.max_members))
    prop_rows = [_property_row(image_id, name, value)
                 for name, value in props.items()]
    blob, locations, kept = _data(image, kids["locations"], ctx, copied)
    counts = {"properties": len(props) - 2 - sum(
        1 for f in FIELD_PROPS if f in props), "tags": len(tags),
        "members": len(members), "locations": len(locations)}
    return Record(image_id, False, _row(image), prop_rows,
                  [{"artifact_id": image_id, "value": t} for t in tags],
                  members, blob, locations, counts,
                  copied if kept else None)


def _property_row(image_id, name, value):
    """The row ``db.property_rows`` makes for a scalar (every property of
    an image is one: a string, or an integer for min_ram, size, ...)."""
    row = {"artifact_id": image_id, "name": name, "position": 0,
           "item_key": "", "string_value": None, "text_value": None,
           "int_value": None, "numeric_value": None, "bool_value": None}
    if isinstance(value, int):
        row["int_value"] = value
    elif value is None:
        pass
    elif len(value) <= db.STRING_LIMIT:
        row["string_value"] = value
    else:
        row["text_value"] = value
    return row


def _may_break_limits(lim, props, tags):
    """Whether ``limits.check_artifact`` could refuse these (a UTF-8
    character is at most 4 bytes): most images are far inside every limit,
    and measuring each value's bytes is most of the cost of a record."""
    if lim.max_tags >= 0 and len(tags) > lim.max_tags:
        return True
    if lim.max_properties >= 0 and len(props) > lim.max_properties:
        return True
    sizes = [len(v) if type(v) is str else 20 for v in props.values()]
    longest = max(sizes)
    total = sum(sizes) + sum(map(len, props))
    return (0 <= lim.max_property_bytes < 4 * longest or
            0 <= lim.max_metadata_bytes < 4 * total)


def _members(image_id, rows):
    seen, out = set(), []
    for row in rows:
        member = _check_text(image_id, "member", row.member, MAX_TEXT)
        if member in seen:
            raise Problem(image_id, "member %s is listed twice." % member)
        seen.add(member)
        if row.status not in ("pending", "accepted", "rejected"):
            raise Problem(image_id, "member %s has status %r." % (
                member, row.status))
        if row.created_at is None or row.updated_at is None:
            raise Problem(image_id, "member %s has a NULL created_at or "
                          "updated_at." % member)
        out.append({"artifact_id": image_id, "member": member,
                    "status": row.status, "created_at": row.created_at,
                    "updated_at": row.updated_at})
    return out


def _data(image, rows, ctx, copied):
    """(blob values, [location values]) of the image's active locations."""
    image_id = image.id
    active = [r for r in rows if r.status == "active"]
    if not active:
        return None, [], False
    locations, seen = [], set()
    for row in active:
        url = _check_text(image_id, "a location", row.value)
        if "://" not in url:
            if not ctx.encryption_key:
                raise Fatal(
                    "The locations of Glance's images are encrypted (image "
                    "%s has one that is not a URL): Glance runs with "
                    "metadata_encryption_key. Pass the same key with "
                    "--metadata-encryption-key (or --glance-config with "
                    "Glance's configuration file)." % image_id)
            try:
                url = crypt.decrypt(ctx.encryption_key, url)
            except ValueError as exc:
                raise Problem(image_id, "a location cannot be decrypted with "
                              "the given metadata_encryption_key: %s" % exc)
        if url in seen:
            raise Problem(image_id, "location %s is listed twice."
                          % _safe(url))
        seen.add(url)
        try:
            metadata = json.loads(row.meta_data) if row.meta_data else {}
        except ValueError:
            raise Problem(image_id, "the metadata of location %s is not "
                          "JSON." % _safe(url)) from None
        if not isinstance(metadata, dict):
            raise Problem(image_id, "the metadata of location %s is not a "
                          "JSON object." % _safe(url))
        store = _store_of(image_id, url, metadata, ctx)
        created = row.created_at or image.created_at
        locations.append({"position": len(locations), "store": store,
                          "url": url, "meta_data": json.dumps(metadata)
                          if metadata else "{}",
                          "status": "active", "created_at": created,
                          "updated_at": row.updated_at or created})
    kept = bool(copied and copied.get("copied_url") and
                copied.get("copied_digest") == copied_digest(image))
    if kept:
        # --copy-data moved it into Glare and checked it: keep that copy,
        # with the metadata the copy was written with (none: Glare keeps
        # the store in its own column and shows it in Glance's
        # multi-store ``metadata.store``), not the Glance location's.
        locations = [dict(locations[0], store=copied["copied_store"],
                          url=copied["copied_url"], meta_data="{}")]
    blob = {"field": "image", "path": "", "position": 0,
            "slot": db.blob_slot("image"), "status": "active",
            "size": image.size, "md5": image.checksum, "external": False,
            "created_at": min(loc["created_at"] for loc in locations),
            "updated_at": max(loc["updated_at"] for loc in locations)}
    for column in DIGEST_COLUMNS:
        blob[column] = image.os_hash_value \
            if image.os_hash_algo == column else None
    return blob, locations, kept


def copied_digest(image):
    """What a --copy-data copy was checked against (size and hashes)."""
    return "%s:%s:%s:%s" % (image.size, image.checksum, image.os_hash_algo,
                            image.os_hash_value)


def _safe(url):
    from artifacts.stores import redact
    return redact(url)


def _store_of(image_id, url, metadata, ctx):
    """The Glare store that serves ``url``."""
    linked = _check_file(image_id, url, ctx)
    glance_store = metadata.get("store")
    stores = ctx.stores
    if glance_store is not None:
        mapped = ctx.store_map.get(glance_store)
        if mapped is None and glance_store in stores.drivers:
            mapped = glance_store
        if mapped is not None:
            if mapped not in stores.drivers:
                raise Fatal("--store-map maps Glance store %r to Glare store "
                            "%r, which is not configured (known: %s)."
                            % (glance_store, mapped,
                               ", ".join(sorted(stores.drivers))))
            if not ctx.owns(mapped, url, linked):
                raise Problem(image_id, "Glare store %r (for Glance store "
                              "%r) does not serve location %s: its "
                              "directory, bucket or scheme differs."
                              % (mapped, glance_store, _safe(url)))
            return mapped
    owner = ctx.owner_of(url, linked)
    if owner is None:
        raise Problem(image_id, "no configured Glare store reads location "
                      "%s%s; configure one (a filesystem store with this "
                      "directory in allowed_roots, an http store, or a "
                      "foreign store for its scheme) or map it with "
                      "--store-map." % (_safe(url), (
                          " (Glance store %r)" % glance_store)
                          if glance_store else ""))
    return owner


def _check_file(image_id, url, ctx):
    """A file location's file must be there; True when it is a link."""
    if not ctx.check_files or not url.startswith("file://"):
        return False
    # glance_store's file store (and Glare's) take the rest as the path.
    path = url[len("file://"):]
    try:
        info = os.lstat(path)
    except OSError:
        raise Problem(image_id, "location file %s is missing." % path) \
            from None
    if stat.S_ISLNK(info.st_mode):
        if not os.path.isfile(path):
            raise Problem(image_id, "location file %s is a broken link."
                          % path)
        return True
    if not stat.S_ISREG(info.st_mode):
        raise Problem(image_id, "location %s is not a regular file." % path)
    return False
