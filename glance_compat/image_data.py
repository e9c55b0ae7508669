"""Image API v2: PUT/GET /v2/images/{id}/file, streamed both ways.

Uploads are read from the WSGI input in 1 MiB blocks (chunked or with a
Content-Length) and handed to the engine as an iterator; the engine hashes
and stores them as they come, so memory stays flat whatever the size.
Downloads hand the store's file to the server's ``wsgi.file_wrapper`` so a
filesystem image is sent with sendfile; Range requests seek instead of
reading and discarding.  With an image cache (``glance_compat.cache``)
the data comes from the node's local copy when there is one.
"""

import flask
from werkzeug.wsgi import FileWrapper

from artifacts import byte_ranges, errors
from artifacts.request_body import body_chunks
from glance_compat import cache, notifications
from glance_compat.common import (context, no_content, reject_body, services,
                                  status_line)

bp = flask.Blueprint("glance_image_data", __name__)

BLOCK = 1024 * 1024


@bp.route("/v2/images/<image_id>/file", methods=["PUT"])
def upload(image_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    engine.data.upload(context(), atype, image_id, "image", request_chunks(),
                       store=requested_store())
    return no_content()


def request_chunks():
    """The request body as an iterator of blocks, after Glance's checks
    (octet-stream only; a Content-Length over the size cap is refused before
    a byte is read)."""
    settings = services().settings
    req = flask.request
    if req.mimetype != "application/octet-stream":
        # Glance's words, as the detail of WebOb's generic 415 sentence.
        raise errors.UnsupportedMediaType(
            "Invalid content type %s" % (req.mimetype or None)).as_detail()
    announced = req.headers.get("x-openstack-image-size")
    if announced is not None:
        try:
            int(announced)
        except ValueError:
            raise errors.Invalid("Invalid or missing image size in request "
                                 "headers.")
    length = req.content_length
    chunked = "chunked" in req.headers.get("Transfer-Encoding", "").lower()
    if length is not None and length > settings.image_size_cap \
            and not chunked:
        raise errors.RequestTooLarge("The incoming image is too large: The "
                                     "provided image is too large.")
    return body_chunks(req.environ, None if chunked else length)


def requested_store():
    """The store named by ``X-Image-Meta-Store`` (Glance's multi-store
    header), or None for the default one; an unknown one is Glance's
    400."""
    settings = services().settings
    name = flask.request.headers.get("X-Image-Meta-Store")
    if not settings.multi_store or name is None:
        return None
    store = {s.id: s for s in settings.stores}.get(name)
    if store is None:
        raise errors.Invalid("Store for identifier %s not found" % name)
    if store.read_only:
        # Glance's answer when the store refuses to add (its http store).
        raise errors.Gone("Error in store configuration. Adding images to "
                          "store is disabled.")
    return name


def _unsatisfiable(message):
    """Glance's 416s carry the message as a detail after WebOb's generic
    'The Range requested is not available.'."""
    exc = errors.RangeNotSatisfiable(message)
    exc.detail_form = True
    return exc


def _parse_range(header, size):
    """(start, end inclusive) or None, with Glance's errors."""
    if "," in header:
        raise errors.Invalid("Requests with multiple ranges are not "
                             "supported in Glance. You may make multiple "
                             "single-range requests instead.")
    try:
        first, last = byte_ranges.parse_range(header)
    except byte_ranges.Malformed:
        raise _unsatisfiable("Invalid Range header.")
    if first is None:
        if last == 0:
            raise _unsatisfiable("Invalid Range header.")
        return max(size - last, 0), size - 1
    if last is not None and last < first:   # WebOb: not a range at all
        raise _unsatisfiable("Invalid Range header.")
    end = last if last is not None else size - 1
    if first >= size:
        raise _unsatisfiable(
            "Invalid start position in Range header. Start position MUST be "
            "in the inclusive range [0, %d]." % (size - 1))
    return first, min(end, size - 1)


def _parse_content_range(header, size):
    """The legacy request header ``Content-Range: bytes a-b/(n|*)`` that
    Glance still takes as a range, with Glance's errors (WebOb's syntax:
    start <= end, and end < n when n is given)."""
    try:
        start, end, length = byte_ranges.parse_content_range(header)
    except byte_ranges.Malformed:
        start = None
    if start is None or end < start or (length is not None and
                                        end >= length):
        raise _unsatisfiable("Invalid Content-Range header.")
    if length is None and end >= size:
        raise _unsatisfiable(
            "Invalid stop position in Content-Range header. The stop "
            "position MUST be in the inclusive range [0, %d]." % (size - 1))
    if start >= size:
        raise _unsatisfiable(
            "Invalid start position in Content-Range header. Start position "
            "MUST be in the inclusive range [0, %d]." % (size - 1))
    return start, min(end, size - 1)


def _requested_range(headers, size):
    if headers.get("Range"):
        return _parse_range(headers["Range"], size)
    if headers.get("Content-Range"):
        return _parse_content_range(headers["Content-Range"], size)
    return None


def preferred_stores(image):
    """The stores of ``?prefer=a,b`` (Glance 2026.1), to read first, after
    Glance's checks: the ``download_from_store`` rule (403), multi-store
    on and every store configured (400).  An image cached on this node is
    served from the cache whatever the preference, as in Glance."""
    names = [n.strip() for n in flask.request.args.get("prefer", "")
             .split(",") if n.strip()]
    if not names:
        return ()
    svc = services()
    svc.engine.enforce_on(context(), svc.images, image,
                          "download_from_store")
    settings = svc.settings
    if not settings.multi_store:
        raise errors.Invalid("Store selection for download is not "
                             "available when multiple backends are not "
                             "enabled.")
    for name in names:
        if name not in settings.store_ids():
            raise errors.Invalid("Store '%s' is not configured." % name)
    return tuple(names)


@bp.route("/v2/images/<image_id>/file", methods=["GET"])
def download(image_id):
    svc = services()
    engine, atype = svc.engine, svc.images
    reject_body()
    download = engine.data.open(context(), atype, image_id, "image",
                                required=False)
    download.prefer = preferred_stores(download.artifact)
    image, blob = download.artifact, download.blob
    if blob is None:
        resp = flask.Response(status=status_line(204))
        resp.headers.pop("Content-Type", None)
        return resp
    size = blob["size"]
    wanted = _requested_range(flask.request.headers, size) if size else None
    offset, length = (wanted[0], wanted[1] - wanted[0] + 1) if wanted \
        else (0, size)
    reader = notifications.count_sent(engine, context(), image, cache.data_reader(
        download, offset, length, ranged=bool(wanted)), length)
    environ = flask.request.environ
    wrapper = environ.get("wsgi.file_wrapper", FileWrapper)
    body = wrapper(reader, BLOCK)
    resp = flask.Response(body, status=status_line(206 if wanted else 200),
                          direct_passthrough=True)
    resp.headers["Content-Type"] = "application/octet-stream"
    resp.headers["Content-Length"] = str(length)
    checksum = image["properties"].get("checksum")
    if checksum:
        resp.headers["Content-MD5"] = checksum
    if wanted:
        resp.headers["Content-Range"] = "bytes %d-%d/%d" % (wanted[0],
                                                            wanted[1], size)
    return resp
