"""Request helpers shared by the Image API v2 views."""

import dataclasses
import http

import flask

from artifacts import errors
from artifacts.request_body import parse_json


@dataclasses.dataclass
class Settings:
    """What the facade reads from configuration, resolved once."""

    show_multiple_locations: bool = False
    show_image_direct_url: bool = False
    limit_param_default: int = 25
    api_limit_max: int = 1000
    image_size_cap: int = 1099511627776
    # Glance's [DEFAULT] image_location_quota (-1: unlimited).
    image_location_quota: int = 10
    enabled_import_methods: tuple = ()
    custom_property_names: frozenset = frozenset()
    # Glance's multi-store (``enabled_backends``): off means one store and
    # the single-store answers (404 on /v2/info/stores, no ``stores``).
    multi_store: bool = False
    stores: tuple = ()          # StoreInfo, in configuration order
    # Glance's property protections (property_protections.PropertyRules)
    # or None.
    property_rules: object = None

    def store_ids(self):
        return [s.id for s in self.stores]


@dataclasses.dataclass(frozen=True)
class StoreInfo:
    """One store as /v2/info/stores describes it."""

    id: str
    type: str
    description: str = ""
    is_default: bool = False
    read_only: bool = False
    weight: int = 0
    properties: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Services:
    """What the Image API views work with, built once by the app factory:
    the engine (``engine.data`` for bytes, ``engine.sharing`` for
    members), the ``images`` type, the facade's settings, the schemas
    it serves and the metadata definitions catalog."""

    engine: object
    images: object
    settings: Settings
    schemas: object
    # The metadata definitions catalog (metadefs.service.Catalog).
    metadefs: object = None


EXTENSION = "glare_image_api"


def services():
    """The running app's ``Services``."""
    return flask.current_app.extensions[EXTENSION]


def context():
    return flask.request.environ["glare.context"]


# JSON documents (image records, patches) are small; a bigger body is a
# mistake or an attack and must not be buffered.
MAX_JSON_BODY = 1024 * 1024


def json_body():
    """The JSON body, with Glance's messages for what is wrong with it."""
    req = flask.request
    if (req.content_length or 0) > MAX_JSON_BODY:
        raise errors.RequestTooLarge("The request body is larger than %d "
                                     "bytes." % MAX_JSON_BODY)
    data = req.stream.read(MAX_JSON_BODY + 1)
    if len(data) > MAX_JSON_BODY:
        raise errors.RequestTooLarge("The request body is larger than %d "
                                     "bytes." % MAX_JSON_BODY)
    if not data:
        raise errors.Invalid("Body expected in request.")
    # Glance's words for what is not JSON; depth and values are checked
    # by the reader both faces share.
    body = parse_json(data, "Malformed JSON in request body.")
    if not isinstance(body, (list, dict)):
        raise errors.Invalid("Unexpected body type. Expected list/dict.")
    return body


def reject_body():
    """Routes that take no body answer 400 to one, as Glance does."""
    req = flask.request
    if (req.content_length or 0) > 0 or (
            req.method in ("POST", "PUT", "PATCH")
            and "chunked" in req.headers.get("Transfer-Encoding", "")):
        raise errors.Invalid("A body is not expected with this request.")


def status_line(code):
    """'201 Created', not werkzeug's '201 CREATED' (Glance's reason case)."""
    return "%d %s" % (code, http.HTTPStatus(code).phrase)


def json_response(body_bytes, status=200, headers=None):
    resp = flask.Response(body_bytes, status=status_line(status),
                          content_type="application/json")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def no_content():
    # WebOb adds this Content-Type to Glance's empty 204s.
    resp = flask.Response(b"", status=status_line(204))
    resp.headers["Content-Type"] = "text/html; charset=UTF-8"
    resp.headers["Content-Length"] = "0"
    return resp
