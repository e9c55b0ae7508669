"""Artifacts, members and lists as the Artifact API shows them.

An artifact is its common fields (the version as a semver string), then
every declared field of its type: blobs as ``{"size", "md5", "sha1",
"sha256", "status", "external", "url"}`` (``null`` before an upload),
folders as ``{path: blob}``.  ``url`` is where the data is downloaded from
(a redirect for external data).
"""

import http
import json
import urllib.parse

import flask

from artifacts import versions
from artifacts.api.common import url

COMMON = ("id", "type_name", "name", "version", "owner", "visibility",
          "status", "tags", "created_at", "updated_at")


def timestamp(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def data_url(artifact, field, path=""):
    tail = "/" + urllib.parse.quote(path, safe="/") if path else ""
    return url("/artifacts/%s/%s/%s%s" % (artifact["type_name"],
                                           artifact["id"], field, tail))


def blob(artifact, row):
    return {"size": row["size"], "md5": row["md5"], "sha1": row["sha1"],
            "sha256": row["sha256"], "status": row["status"],
            "external": bool(row["external"]),
            "url": data_url(artifact, row["field"], row["path"])}


def _data(artifact, name, fdef):
    rows = [b for b in artifact["blobs"] if b["field"] == name
            and b["status"] in ("active", "saving")]
    # A live blob wins over a claim of the same path being uploaded.
    rows.sort(key=lambda b: b["status"] != "active")
    if fdef.kind == "blob":
        return blob(artifact, rows[0]) if rows else None
    files = {}
    for row in rows:
        files.setdefault(row["path"], blob(artifact, row))
    return dict(sorted(files.items()))


def artifact(atype, art):
    """The JSON-ready dict of one artifact of ``atype``."""
    out = {
        "id": art["id"], "type_name": art["type_name"], "name": art["name"],
        "version": versions.render(art["version"]), "owner": art["owner"],
        "visibility": art["visibility"], "status": art["status"],
        "tags": sorted(art["tags"]),
        "created_at": timestamp(art["created_at"]),
        "updated_at": timestamp(art["updated_at"]),
    }
    props = art["properties"]
    for name, fdef in atype.fields.items():
        if fdef.is_data:
            out[name] = _data(art, name, fdef)
        else:
            out[name] = props.get(name)
    if atype.extra_properties:
        for name, value in props.items():
            if name not in out:
                out[name] = value
    return out


def member(row):
    return {"member": row["member"], "artifact_id": row["artifact_id"],
            "status": row["status"],
            "created_at": timestamp(row["created_at"]),
            "updated_at": timestamp(row["updated_at"])}


def status_line(code):
    """'201 Created', not Werkzeug's '201 CREATED'."""
    return "%d %s" % (code, http.HTTPStatus(code).phrase)


def json_response(body, status=200, headers=None):
    resp = flask.Response(json.dumps(body) + "\n",
                          status=status_line(status),
                          content_type="application/json")
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def no_content():
    resp = flask.Response(status=status_line(204))
    resp.headers.pop("Content-Type", None)
    return resp
