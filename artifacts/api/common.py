"""Request helpers shared by the Artifact API views.

Views stay thin: they parse (here, or with marshmallow schemas through
``Blueprint.arguments``), make one engine call and render
(``artifacts.api.render``).  Everything a request can get wrong becomes an
``artifacts.errors`` exception, rendered by ``artifacts.api.errors``.
"""

import flask
import flask_smorest
from webargs.flaskparser import FlaskParser

from artifacts import errors, types, versions
from artifacts.request_body import parse_json

# JSON documents (artifacts, patches, members) are small; a bigger body is a
# mistake or an attack and is refused without being buffered.
MAX_JSON_BODY = 1024 * 1024

# Served by the Glance face (its own statuses, hooks and policy names);
# the Artifact API serves every other registered type.
FACE_OWNED_TYPES = ("images",)

JSON_PATCH = "application/json-patch+json"


def served_types():
    """{name: type} of the types this API serves."""
    return {n: t for n, t in sorted(types.all_types().items())
            if n not in FACE_OWNED_TYPES}


def artifact_type(type_name):
    """The type named in the URL, or 404 saying which ones exist."""
    atype = served_types().get(type_name)
    if atype is None:
        raise errors.NotFound("Unknown artifact type '%s'; known types: %s."
                              % (type_name, ", ".join(served_types())))
    return atype


def engine():
    return flask.current_app.extensions["glare_artifacts"]["engine"]


def settings():
    return flask.current_app.extensions["glare_artifacts"]["settings"]


def context():
    return flask.request.environ["glare.context"]


def url(path):
    """An absolute path on this server (behind any SCRIPT_NAME prefix)."""
    return flask.request.script_root + path


# The version columns hold 32-bit numbers and a sort key of at most 300
# characters on every database; artifacts.versions.parse alone admits more
# (up to 10-digit numbers, any number of pre-release identifiers).
MAX_VERSION_PART = 2 ** 31 - 1
MAX_SORT_KEY = 300


def parse_version(text):
    """``artifacts.versions.parse`` within what the database can hold,
    in ASCII only (its ``\\d`` would read '1\\u0662.0.0' as 12.0.0)."""
    if isinstance(text, str) and not text.isascii():
        raise errors.Invalid("Version %r is not a semantic version: only "
                             "ASCII digits, letters, '.', '-' and '+' are "
                             "allowed." % (text,))
    parsed = versions.parse(text)
    if any(part > MAX_VERSION_PART for part in parsed[:3]):
        raise errors.Invalid("Version %r has a number larger than %d."
                             % (text, MAX_VERSION_PART))
    if len(versions.sort_key(parsed)) > MAX_SORT_KEY:
        raise errors.Invalid("Version %r has too many pre-release "
                             "identifiers." % (text,))
    return parsed


# ------------------------------------------------------------------ bodies

def _no_constants(name):
    raise errors.Invalid("%s is not valid JSON; numbers must be finite."
                         % name)


def read_json(media_types=("application/json",)):
    """The request's JSON body, size-capped, nested at most
    ``request_body.MAX_JSON_DEPTH`` levels, with finite numbers and no NUL;
    415 for another media type."""
    req = flask.request
    if req.mimetype not in media_types:
        raise errors.UnsupportedMediaType(
            "The request media type %s is not supported here; send %s."
            % (req.mimetype or "(none)", " or ".join(media_types)))
    if (req.content_length or 0) > MAX_JSON_BODY:
        raise errors.RequestTooLarge("The request body is larger than %d "
                                     "bytes." % MAX_JSON_BODY)
    data = req.stream.read(MAX_JSON_BODY + 1)
    if len(data) > MAX_JSON_BODY:
        raise errors.RequestTooLarge("The request body is larger than %d "
                                     "bytes." % MAX_JSON_BODY)
    if not data.strip():
        raise errors.Invalid("A JSON body is expected with this request.")
    return parse_json(data, "Malformed JSON in request body.",
                      parse_constant=_no_constants)


def reject_body():
    """Routes that take no body answer 400 to one."""
    req = flask.request
    if (req.content_length or 0) > 0 or \
            "chunked" in req.headers.get("Transfer-Encoding", "").lower():
        raise errors.Invalid("A body is not expected with this request.")


def _flatten(messages, prefix=""):
    """marshmallow's nested error dict → ["field: message", ...]."""
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "%s.%s" % (prefix, key) if prefix else str(key)
            if key == "_schema":
                name = prefix
            out.extend(_flatten(value, name))
    elif isinstance(messages, list):
        for item in messages:
            out.extend(_flatten(item, prefix))
    else:
        out.append("%s: %s" % (prefix, messages) if prefix
                   else str(messages))
    return out


class Parser(FlaskParser):
    """webargs' parser with the API's conventions: bodies through
    ``read_json`` (size cap, 415, NUL, finite numbers), and validation
    failures as 400 ``errors.Invalid`` naming the fields."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        if req.method == "PATCH":
            body = read_json((JSON_PATCH,))
            if not isinstance(body, list):
                raise errors.Invalid(
                    "A JSON patch is a list of operations, e.g. "
                    '[{"op": "replace", "path": "/name", "value": "x"}].')
            return body
        body = read_json()
        if not isinstance(body, dict):
            raise errors.Invalid("The body must be a JSON object.")
        return body

    def handle_error(self, error, req, schema, *, error_status_code,
                     error_headers):
        messages = error.messages
        if isinstance(messages, dict) and set(messages) <= {
                "json", "query", "querystring", "view_args", "path"}:
            messages = {k: v for d in messages.values()
                        for k, v in (d.items() if isinstance(d, dict)
                                     else [("", d)])}
        raise errors.Invalid("Invalid request: %s." % "; ".join(
            m.rstrip(".") for m in _flatten(messages)))


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
