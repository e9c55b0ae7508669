"""Glance v2 JSON schemas: ``/v2/schemas/{image,images,member,members,
task,tasks}`` and ``/v2/schemas/metadefs/*`` (documents of
``metadefs.schemas``).

The documents are data: ``schemas/image-base.json`` (base image properties),
``schemas/schema-image.json`` (custom properties, Glance's file format, which an
operator may replace via ``[glare] schema_image_file``), ``schemas/member.json``
and ``schemas/members.json``.  ``SchemaSet`` turns them into exactly what
Glance serves, once, at application start:

* ``image`` -- Glance's "raw" permissive schema: ``name``, ``properties``
  (base ones in Glance's order, then the custom ones, each marked
  ``"is_base": false``), ``additionalProperties: {"type": "string"}``,
  ``required`` (only if the custom file declares one) and ``links``.
  ``disk_format``/``container_format`` enums list ``null`` plus the configured
  ``[image_format]`` values.
* ``images`` -- the collection form of ``image``.
* ``member``/``members``, ``task``/``tasks`` -- Glance's "minimal" form:
  ``name`` and ``properties`` (``tasks``: also ``links``) only.  Note that
  Glance serves the member schema WITHOUT ``additionalProperties``
  (``Schema.minimal()`` drops it), so warlock in glanceclient accepts
  extra keys in member bodies; we serve the same.

glanceclient fetches ``/v2/schemas/image`` before every image call and Nova
builds a new client per request, so the JSON bytes are serialised once and
served as-is.
"""

import copy
import json
import os

import flask
import jsonschema
import jsonschema.exceptions

from artifacts import errors
from glare.config import ConfigError
from metadefs import schemas as metadef_schemas

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "schemas")

NAMES = ("image", "images", "member", "members", "task", "tasks")

EXTENSION_KEY = "glare.schemas"


def _read_json(path, what):
    """Parse a JSON file; any problem is a start-up ConfigError."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise ConfigError("Cannot read %s %s: %s" % (what, path, exc))
    except ValueError as exc:
        raise ConfigError("%s %s is not valid JSON: %s" % (what, path, exc))


def _shipped(name):
    doc = _read_json(os.path.join(SCHEMA_DIR, name), "schema file")
    # '$comment' documents the file for its readers; Glance serves no such
    # key, so it never reaches the wire.
    doc.pop("$comment", None)
    return doc


def load_custom_properties(path):
    """Read a Glance-style schema-image.json; return ``(properties, required)``.

    Two layouts exist, as in Glance: the flat one (``{prop: fragment}``) and
    the extended one (``{"properties": {...}, "required": [...]}``).  An empty
    ``required`` counts as none, so no ``required`` key is served.
    """
    label = "[glare] schema_image_file"
    if path and not os.path.isfile(path):
        raise ConfigError("%s: file %s does not exist." % (label, path))
    data = _read_json(path or os.path.join(SCHEMA_DIR, "schema-image.json"),
                      label)
    if not isinstance(data, dict):
        raise ConfigError("%s must contain a JSON object." % label)
    required = None
    if "properties" in data:
        props = data.get("properties") or {}
        required = data.get("required") or None
        if required is not None and not (
                isinstance(required, list)
                and all(isinstance(r, str) for r in required)):
            raise ConfigError("%s: 'required' must be a list of property "
                              "names." % label)
    else:
        props = data
    if not isinstance(props, dict) or not all(
            isinstance(v, dict) for v in props.values()):
        raise ConfigError("%s: every custom property must map to a JSON "
                          "schema object." % label)
    return props, required


def build_image_schema(base, disk_formats, container_formats,
                       custom_props, required=None):
    """Return the image schema dict in Glance's key order.

    Key order (name, properties, additionalProperties, required, links) is
    the order Glance's serializer emits; clients don't depend on it, but
    diffs against a real Glance stay quiet.
    """
    properties = copy.deepcopy(base["properties"])
    properties["disk_format"]["enum"] = [None] + list(disk_formats)
    properties["container_format"]["enum"] = [None] + list(container_formats)
    clash = sorted(set(custom_props) & set(properties))
    if clash:
        # Glance refuses to start on this too (SchemaLoadError): a custom
        # definition would silently change a core attribute.
        raise ConfigError("[glare] schema_image_file: custom properties (%s) "
                          "conflict with base properties." % ", ".join(clash))
    for name, fragment in custom_props.items():
        fragment = copy.deepcopy(fragment)
        # glanceclient and Nova use is_base to tell core attributes from
        # custom ones (patch ops, image_meta['properties']).
        fragment["is_base"] = False
        properties[name] = fragment
    schema = {"name": "image", "properties": properties,
              "additionalProperties": copy.deepcopy(
                  base["additionalProperties"])}
    if required:
        schema["required"] = list(required)
    schema["links"] = copy.deepcopy(base["links"])
    return schema


def collection_schema(name, item_schema):
    """Glance's raw collection form (used for ``images``)."""
    return {
        "name": name,
        "properties": {
            name: {"type": "array", "items": item_schema},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


class SchemaSet(object):
    """All four documents, their JSON bytes and the image validator.

    Build one per application (``init_app``) and treat the dicts as
    read-only: they are shared by every request.
    """

    def __init__(self, conf):
        custom, required = load_custom_properties(conf.glare.schema_image_file)
        base = _shipped("image-base.json")
        self.image = build_image_schema(
            base, conf.image_format.disk_formats,
            conf.image_format.container_formats, custom, required)
        self.images = collection_schema("images", self.image)
        self.member = _shipped("member.json")
        self.members = _shipped("members.json")
        self.task = _shipped("task.json")
        self.tasks = _shipped("tasks.json")
        # Glance validates a POST /v2/tasks body against the task schema
        # with no other keys allowed.
        self._task_validator = jsonschema.validators.validator_for(
            self.task)(dict(self.task, additionalProperties=False))
        self.base_property_names = frozenset(base["properties"])
        self.custom_property_names = frozenset(custom)
        self.required = tuple(required or ())
        # Same validator class Glance gets from jsonschema.validate() (no
        # "$schema" key, so the newest draft).  Checking the schema now makes
        # a broken operator file fail at start, not on the first create.
        cls = jsonschema.validators.validator_for(self.image)
        try:
            cls.check_schema(self.image)
        except jsonschema.exceptions.SchemaError as exc:
            raise ConfigError("[glare] schema_image_file does not give a "
                              "valid JSON schema: %s" % exc.message)
        self._validator = cls(self.image)
        self._partial_validator = cls(
            {k: v for k, v in self.image.items() if k != "required"})
        location = _shipped("location.json")
        self._location_validator = jsonschema.validators.validator_for(
            location)(location)
        # Same serialiser settings as Glance (json.dumps defaults).
        self.json = {name: json.dumps(getattr(self, name)).encode("utf-8")
                     for name in NAMES}

    def validate_image(self, props, check_required=True):
        """Validate ``props`` (only the keys given) against the image schema.

        Raises ``errors.Invalid`` with Glance's text: "Provided object does
        not match schema 'image': " followed by ``str()`` of the jsonschema
        error, which, as in Glance, is the message plus jsonschema's dump of
        the failing schema fragment and instance.  The error picked among
        several is jsonschema's ``best_match``, as ``jsonschema.validate``
        (Glance's call) does.

        Glance validates each PATCH change (``{attr: value}``) against the
        full schema, so a ``required`` list from the custom file applies to
        PATCH too; ``check_required=False`` is there for a caller that
        deliberately wants to skip that.
        """
        validator = self._validator if check_required \
            else self._partial_validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(props))
        if error is not None:
            raise errors.Invalid("Provided object does not match schema "
                                 "'image': %s" % error)


    def validate_location(self, body):
        """The body of ``POST /v2/images/{id}/locations``, as Glance checks
        it: ``{"add_location": body}`` against its ``location`` schema
        (400 "Provided object does not match schema 'location': ...")."""
        error = jsonschema.exceptions.best_match(
            self._location_validator.iter_errors({"add_location": body}))
        if error is not None:
            raise errors.Invalid("Provided object does not match schema "
                                 "'location': %s" % error)

    def validate_task(self, body):
        """A POST /v2/tasks body against the task schema, in Glance's
        words ("Provided object does not match schema 'task': ...")."""
        error = jsonschema.exceptions.best_match(
            self._task_validator.iter_errors(body))
        if error is not None:
            raise errors.Invalid("Provided object does not match schema "
                                 "'task': %s" % error)


bp = flask.Blueprint("glance_schemas", __name__)

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@bp.route("/v2/schemas/<any(image, images, member, members, task, tasks)"
          ":name>",
          methods=_ALL_METHODS, provide_automatic_options=False)
def show_schema(name):
    """Serve a pre-serialised schema document.

    Every method is routed here so that anything but GET gets Glance's 405
    with ``Allow: GET``; Flask's own 405 would also allow HEAD and OPTIONS,
    which Glance does not.
    """
    return _serve(flask.current_app.extensions[EXTENSION_KEY].json[name])


def _serve(body):
    req = flask.request
    if req.method != "GET":
        raise errors.MethodNotAllowed(
            "The method %s is not allowed for this resource." % req.method,
            Allow="GET")
    if req.content_length:
        # Glance's schema routes reject bodies (body_reject).
        raise errors.Invalid("A body is not expected with this request.")
    return flask.Response(body, status=200, content_type="application/json")


@bp.route("/v2/schemas/metadefs/<any(%s):name>" % ", ".join(
    metadef_schemas.NAMES), methods=_ALL_METHODS,
    provide_automatic_options=False)
def show_metadef_schema(name):
    """``/v2/schemas/metadefs/*`` (built by ``metadefs.schemas``), with
    the same method and body rules as the image schemas."""
    return _serve(metadef_schemas.schemas().json[name])


def init_app(app, conf):
    """Build the SchemaSet, store it on ``app`` and register ``bp``.

    Returns the SchemaSet so the app factory can hand it to the image
    handlers (validation, ``custom_property_names``).
    """
    schemas = SchemaSet(conf)
    app.extensions[EXTENSION_KEY] = schemas
    if bp.name not in app.blueprints:
        app.register_blueprint(bp)
    return schemas


def get_schemas():
    """The current app's SchemaSet (for request handlers)."""
    return flask.current_app.extensions[EXTENSION_KEY]
