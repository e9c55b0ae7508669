"""Notifications of the artifact types other than ``images``.

``subscribe(engine, notifier)`` sends ``artifact.<event>`` for the engine's
events on every type but ``images`` (images get Glance's own ``image.*``
notifications, whichever face changed them: see
``glance_compat.notifications``):

==================  =====================================================
artifact.create     created (drafted)
artifact.update     metadata or tags changed
artifact.activate   drafted → active
artifact.deactivate active → deactivated (``artifact.reactivate`` back)
artifact.upload     a blob or folder file stored (``field``, ``path``)
artifact.delete     deleted (``deleted``: true, ``deleted_at``)
artifact.member.*   create / update / delete of a member
==================  =====================================================

The payload is the artifact as the Artifact API shows it (common fields,
declared fields, extra properties), with blobs as ``{size, md5, sha1,
sha256, status, external}`` (no URL: a consumer may not reach this
endpoint, and an external blob's URL is the owner's business), plus
``deleted`` and ``deleted_at``; member events carry the member row.
Failed uploads are not notified (nothing changed).
"""

from artifacts import versions

IMAGES = "images"


def _time(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _blob(row):
    return {"size": row["size"], "md5": row["md5"], "sha1": row["sha1"],
            "sha256": row["sha256"], "status": row["status"],
            "external": bool(row["external"])}


def artifact_payload(atype, art, deleted_at=None):
    """The artifact of ``atype`` as a notification payload."""
    out = {
        "id": art["id"], "type_name": art["type_name"], "name": art["name"],
        "version": versions.render(art["version"]), "owner": art["owner"],
        "visibility": art["visibility"], "status": art["status"],
        "tags": sorted(art["tags"]),
        "created_at": _time(art["created_at"]),
        "updated_at": _time(art["updated_at"]),
    }
    props = art["properties"]
    for name, fdef in atype.fields.items():
        if not fdef.is_data:
            out[name] = props.get(name)
            continue
        rows = [b for b in art.get("blobs", ()) if b["field"] == name
                and b["status"] == "active"]
        if fdef.kind == "blob":
            out[name] = _blob(rows[0]) if rows else None
        else:
            out[name] = {b["path"]: _blob(b)
                         for b in sorted(rows, key=lambda b: b["path"])}
    if atype.extra_properties:
        for name, value in props.items():
            out.setdefault(name, value)
    out["deleted"] = deleted_at is not None
    out["deleted_at"] = _time(deleted_at)
    return out


def member_payload(atype, row, deleted_at=None):
    return {"type_name": atype.name, "artifact_id": row["artifact_id"],
            "member": row["member"], "status": row["status"],
            "created_at": _time(row["created_at"]),
            "updated_at": _time(row["updated_at"]),
            "deleted": deleted_at is not None,
            "deleted_at": _time(deleted_at)}


def subscribe(engine, notifier):
    if notifier.enabled:
        engine.events.subscribe(ArtifactEvents(notifier))


class ArtifactEvents:
    """The engine-event listener for the Artifact API's types."""

    EVENTS = {"create": "artifact.create", "update": "artifact.update",
              "activate": "artifact.activate",
              "upload_done": "artifact.upload",
              "delete": "artifact.delete",
              "member_create": "artifact.member.create",
              "member_update": "artifact.member.update",
              "member_delete": "artifact.member.delete"}

    def __init__(self, notifier):
        self.notifier = notifier

    def __call__(self, event):
        atype = event.atype
        if atype is None or atype.name == IMAGES:
            return
        name = self.EVENTS.get(event.name)
        if event.name == "status":
            name = "artifact." + event.details["operation"]
        if name is None:
            return
        details = event.details
        if "member" in details:
            payload = member_payload(atype, details["member"],
                                     details.get("deleted_at"))
        else:
            payload = artifact_payload(atype, event.artifact,
                                       details.get("deleted_at"))
            if event.name == "delete":
                payload["status"] = details.get("status") or "deleted"
            if event.name == "upload_done":
                payload["uploaded"] = {"field": details.get("field"),
                                       "path": details.get("path") or None}
        self.notifier.info(name, payload)
