"""The Artifact API's one error format.

Every failure under ``/artifacts`` -- an engine error (``ArtifactError``),
a routing or method error from Werkzeug, a request that could not be
parsed, or an unexpected exception -- is answered with::

    {"error": {"code": 409, "title": "Conflict", "message": "..."}}

with that status and ``Content-Type: application/json``.  The Glance face
keeps its own WebOb-rendered errors; ``glare.app`` routes each failure to
the renderer of the face whose URL space it happened in (``owns``).
"""

import http
import json
import logging

import flask
from werkzeug import exceptions as wz

from artifacts import errors

LOG = logging.getLogger(__name__)

PREFIX = "/artifacts"

GENERIC_500 = ("The server has either erred or is incapable of performing "
               "the requested operation.")


def owns(path):
    """True for paths of the Artifact API (``/artifacts`` and below)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def title(code):
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def response(code, message, headers=None):
    body = json.dumps({"error": {"code": code, "title": title(code),
                                 "message": message}})
    resp = flask.Response(body + "\n", status="%d %s" % (code, title(code)),
                          content_type="application/json")
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def _allowed_methods():
    """Methods the matched path routes, for a 405's ``Allow``."""
    adapter = flask.current_app.url_map.bind_to_environ(
        flask.request.environ)
    methods = adapter.allowed_methods()
    order = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [m for m in order if m in methods]


def render(exc):
    """The response for any exception raised while serving the API."""
    if isinstance(exc, errors.ArtifactError):
        if exc.status >= 500 and \
                not isinstance(exc, errors.DatabaseUnavailable):
            LOG.error("%s: %s", type(exc).__name__, exc.message)
        headers = {k.replace("_", "-"): v for k, v in exc.headers.items()}
        return response(exc.status, exc.message or title(exc.status),
                        headers)
    if isinstance(exc, wz.HTTPException) and exc.code:
        headers = {}
        message = exc.description or title(exc.code)
        if exc.code == 404:
            message = ("No such resource: %s %s. See %s/openapi.json for "
                       "the routes of the Artifact API."
                       % (flask.request.method, flask.request.path, PREFIX))
        elif exc.code == 405:
            allowed = _allowed_methods()
            headers["Allow"] = ", ".join(allowed)
            message = ("Method %s is not allowed on %s; allowed: %s."
                       % (flask.request.method, flask.request.path,
                          ", ".join(allowed) or "none"))
        elif exc.code == 413:
            message = "The request body is too large."
        return response(exc.code, message, headers)
    LOG.exception("Unexpected error handling %s %s", flask.request.method,
                  flask.request.path)
    return response(500, GENERIC_500)
