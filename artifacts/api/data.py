"""``/artifacts/{type}/{id}/{field}[/{path}]``: the data of blob and folder
fields, streamed both ways.

Uploads (``PUT``, ``application/octet-stream``, chunked or with a
Content-Length) are read from the WSGI input in 1 MiB blocks and handed to
``engine.data.upload`` as an iterator: hashed and stored as they come,
never buffered.  Downloads hand the store's reader to the server's
``wsgi.file_wrapper`` (sendfile for a filesystem store); a Range request
opens the reader at the offset instead of reading and discarding.  Folder
paths are whatever follows the field in the URL; the engine refuses
hostile ones (``..``, absolute, NUL, too long or deep) before storing a
byte.

External data: a PUT with ``Content-Type:
application/vnd+openstack.glare-custom-location+json`` and ``{"url": ...,
"size"?, "md5"?, "sha1"?, "sha256"?}`` registers a URL as the data
(checked against the operator's policy, never fetched); its download
answers ``302`` to that URL.
"""


import flask
import marshmallow as ma
from werkzeug.routing import BaseConverter
from werkzeug.wsgi import FileWrapper

from artifacts import byte_ranges, errors, external
from artifacts.request_body import body_chunks
from artifacts.api import common, models, render
from artifacts.api.artifacts import ID_PARAMETER, type_parameter
from artifacts.api.common import Blueprint, context, engine

blp = Blueprint("artifact_data", __name__, url_prefix="/artifacts",
                description="Upload, download and delete the data of blob "
                            "and folder fields.")

BLOCK = 1024 * 1024
EXTERNAL = "application/vnd+openstack.glare-custom-location+json"


class AnyPathConverter(BaseConverter):
    """Everything after the field, slashes included (even leading or
    doubled ones): the engine's path rule decides, not the router."""

    regex = ".*"
    part_isolating = False
    weight = 200


def path_schema(_converter):
    return {"type": "string"}


FIELD_PARAMETER = {"in": "path", "name": "field", "required": True,
                   "description": "A blob or folder field of the type",
                   "schema": {"type": "string"}}
PATH_PARAMETER = {"in": "path", "name": "path", "required": True,
                  "description": "A file's path inside a folder field",
                  "schema": {"type": "string"}}
BLOB = "/<type_name>/<artifact_id>/<field>"
FILE = BLOB + "/<anypath:path>"
PARAMETERS = [type_parameter(), ID_PARAMETER, FIELD_PARAMETER]
OCTETS = {"content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}}}
UPLOAD_BODY = {"content": dict(OCTETS["content"], **{EXTERNAL: {
    "schema": {"$ref": "#/components/schemas/ExternalLocation"}}})}


@blp.url_value_preprocessor
def _resolve_type(endpoint, values):
    if values and "type_name" in values:
        values["atype"] = common.artifact_type(values.pop("type_name"))


def _request_chunks(atype, field):
    req = flask.request
    if req.mimetype != "application/octet-stream":
        raise errors.UnsupportedMediaType(
            "The request media type %s is not supported here; send the "
            "data as application/octet-stream (or a URL as %s)."
            % (req.mimetype or "(none)", EXTERNAL))
    chunked = "chunked" in req.headers.get("Transfer-Encoding", "").lower()
    length = None if chunked else req.content_length
    fdef = atype.field(field)
    caps = [c for c in (engine().limits.max_blob_size,
                        fdef.max_size if fdef is not None and
                        fdef.kind == "blob" else None) if c is not None]
    if length is not None and caps and length > min(caps):
        raise errors.RequestTooLarge(
            "The data (%d bytes) is larger than field '%s' allows (%d "
            "bytes)." % (length, field, min(caps)))
    return body_chunks(req.environ, 0 if length is None and not chunked
                        else length)


def _external_location():
    """The parsed body of an external-location PUT."""
    try:
        body = models.ExternalLocation().load(common.read_json((EXTERNAL,)))
    except ma.ValidationError as exc:
        raise errors.Invalid("Invalid external location: %s." % "; ".join(
            "%s: %s" % (k, " ".join(v) if isinstance(v, list) else v)
            for k, v in sorted(exc.messages.items())))
    # The URL itself is checked by the engine (artifacts.net.urls).
    return body


def _upload(atype, artifact_id, field, path=""):
    if flask.request.mimetype == EXTERNAL:
        body = _external_location()
        engine().data.register_external(
            context(), atype, artifact_id, field, body["url"], path=path,
            size=body.get("size"),
            digests={k: body[k] for k in ("md5", "sha1", "sha256")
                     if k in body})
    else:
        chunks = _request_chunks(atype, field)
        engine().data.upload(context(), atype, artifact_id, field, chunks,
                             path=path)
    art = engine().get(context(), atype, artifact_id)
    return render.json_response(render.artifact(atype, art))


@blp.route(BLOB, methods=["PUT"], endpoint="upload_blob",
           parameters=PARAMETERS)
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(200, models.Artifact)
def upload_blob(atype, artifact_id, field):
    """Upload a blob field's data (replaces what it held), or register a
    URL as its data."""
    return _upload(atype, artifact_id, field)


@blp.route(FILE, methods=["PUT"], endpoint="upload_file",
           parameters=PARAMETERS + [PATH_PARAMETER])
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(200, models.Artifact)
def upload_file(atype, artifact_id, field, path):
    """Upload one file of a folder field, at ``path`` (nested paths allowed;
    no '..', absolute paths or NUL)."""
    return _upload(atype, artifact_id, field, path)


# --------------------------------------------------------------- download

def _unsatisfiable(message, size):
    return errors.RangeNotSatisfiable(message, Content_Range="bytes */%d"
                                      % size)


def _parse_range(header, size):
    """(start, end inclusive) of a single ``bytes=`` range, or 416."""
    shown = header[:100]
    try:
        first, last = byte_ranges.parse_range(header)
    except byte_ranges.Malformed:
        raise _unsatisfiable("Range %r is not a single byte range "
                             "(bytes=START-[END] or bytes=-SUFFIX, numbers "
                             "of at most %d digits)."
                             % (shown, byte_ranges.MAX_DIGITS), size)
    if first is None:
        if last == 0 or size == 0:
            raise _unsatisfiable("Range %s selects no bytes of %d."
                                 % (shown, size), size)
        return max(size - last, 0), size - 1
    end = last if last is not None else size - 1
    if end < first:
        raise _unsatisfiable("Range %s ends before it starts." % shown,
                             size)
    if first >= size:
        raise _unsatisfiable("Range %s starts at or after the end of the "
                             "data (%d bytes)." % (shown, size), size)
    return first, min(end, size - 1)


def _download(atype, artifact_id, field, path=""):
    common.reject_body()
    download = engine().data.open(context(), atype, artifact_id, field, path)
    blob = download.blob
    if download.external_url:
        resp = flask.Response(status=render.status_line(302))
        resp.headers["Location"] = external.redirect_url(
            download.external_url, engine().external_policy)
        return resp
    size = blob["size"] or 0
    etag = blob["sha256"] or blob["md5"]
    headers = flask.request.headers
    if etag and headers.get("If-None-Match") in ('"%s"' % etag, "*"):
        resp = flask.Response(status=render.status_line(304))
        resp.headers["ETag"] = '"%s"' % etag
        return resp
    wanted = None
    if headers.get("Range"):
        if_range = headers.get("If-Range")
        if not if_range or (etag and if_range == '"%s"' % etag):
            wanted = _parse_range(headers["Range"], size)
    offset, length = (wanted[0], wanted[1] - wanted[0] + 1) if wanted \
        else (0, size)
    reader = download.read(offset=offset, length=length)
    environ = flask.request.environ
    wrapper = environ.get("wsgi.file_wrapper", FileWrapper)
    resp = flask.Response(wrapper(reader, BLOCK),
                          status=render.status_line(206 if wanted
                                                    else 200),
                          direct_passthrough=True)
    resp.headers["Content-Type"] = "application/octet-stream"
    resp.headers["Content-Length"] = str(length)
    resp.headers["Accept-Ranges"] = "bytes"
    if etag:
        resp.headers["ETag"] = '"%s"' % etag
    if blob["md5"] and not wanted:
        resp.headers["Content-MD5"] = blob["md5"]
    if wanted:
        resp.headers["Content-Range"] = "bytes %d-%d/%d" % (wanted[0],
                                                            wanted[1], size)
    return resp


DOWNLOAD = {"200": {"description": "The data",
                    **OCTETS},
            "206": {"description": "The requested range", **OCTETS},
            "302": {"description": "External data: its URL"}}


@blp.route(BLOB, methods=["GET"], endpoint="download_blob",
           parameters=PARAMETERS)
@blp.doc(responses=DOWNLOAD)
def download_blob(atype, artifact_id, field):
    """Download a blob field's data (Range supported)."""
    return _download(atype, artifact_id, field)


@blp.route(FILE, methods=["GET"], endpoint="download_file",
           parameters=PARAMETERS + [PATH_PARAMETER])
@blp.doc(responses=DOWNLOAD)
def download_file(atype, artifact_id, field, path):
    """Download one file of a folder field (Range supported)."""
    return _download(atype, artifact_id, field, path)


# ----------------------------------------------------------------- delete

@blp.route(BLOB, methods=["DELETE"], endpoint="delete_blob",
           parameters=PARAMETERS)
@blp.response(204)
def delete_blob(atype, artifact_id, field):
    """Remove a blob field's data (drafted artifacts, or mutable fields)."""
    common.reject_body()
    engine().data.delete(context(), atype, artifact_id, field)
    return render.no_content()


@blp.route(FILE, methods=["DELETE"], endpoint="delete_file",
           parameters=PARAMETERS + [PATH_PARAMETER])
@blp.response(204)
def delete_file(atype, artifact_id, field, path):
    """Remove one file of a folder field."""
    common.reject_body()
    engine().data.delete(context(), atype, artifact_id, field, path)
    return render.no_content()
