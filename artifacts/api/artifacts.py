"""``/artifacts/{type}[/{id}]``: list, create, show, patch, delete, and the
lifecycle actions (activate, deactivate, reactivate, publish).

Each view parses, makes one engine call and renders; the engine enforces
the ``artifact:<op>`` policy rules, validates and answers every conflict.
"""

import flask

from artifacts import errors
from artifacts.api import common, listing, models, render
from artifacts.api import patch as json_patch
from artifacts.api.common import Blueprint, context, engine
from artifacts.types import schema as type_schema

blp = Blueprint("artifacts", __name__, url_prefix="/artifacts",
                description="Artifacts of every type: lists, create, show, "
                            "JSON-patch, delete and lifecycle actions.")

ALL = "all"


def type_parameter(with_all=False):
    names = list(common.served_types()) + ([ALL] if with_all else [])
    return {"in": "path", "name": "type_name", "required": True,
            "description": "Artifact type" + (" ('all': every type)"
                                              if with_all else ""),
            "schema": {"type": "string", "enum": names}}


ID_PARAMETER = {"in": "path", "name": "artifact_id", "required": True,
                "schema": {"type": "string", "format": "uuid"}}
ERRORS = {400: "Bad request", 403: "Forbidden", 404: "Not found",
          409: "Conflict", 413: "Too large", 415: "Unsupported media type"}


def document_errors(*codes):
    """Document the error responses of a view (all share one schema)."""
    def decorator(func):
        for code in codes:
            func = blp.alt_response(code, schema=models.Error,
                                    description=ERRORS[code])(func)
        return func
    return decorator


@blp.url_value_preprocessor
def _resolve_type(endpoint, values):
    """``type_name`` in the URL → ``atype`` for the view (404 if unknown;
    ``all`` only where the view takes it) before any body is parsed."""
    if values is None or "type_name" not in values:
        return
    name = values.pop("type_name")
    if name == ALL and endpoint == "artifacts.list_artifacts":
        values["atype"] = None
    else:
        values["atype"] = common.artifact_type(name)


@blp.before_request
def _no_body_on_reads():
    if flask.request.method in ("GET", "DELETE"):
        common.reject_body()


# -------------------------------------------------------------------- list

# GET and POST share the path's parameters: 'all' is documented for both
# (a POST to it is a 404 like any unknown type).
@blp.route("/<type_name>", methods=["GET"], endpoint="list_artifacts",
           parameters=[type_parameter(with_all=True)])
@blp.arguments(models.ListQuery, location="query", as_kwargs=False)
@blp.response(200, models.ArtifactList)
@document_errors(400, 404)
def list_artifacts(_query, atype):
    """List artifacts of a type (or of every type with ``all``)."""
    served = list(common.served_types().values())
    types_ = [atype] if atype is not None else served
    req = listing.parse(flask.request.args, context(), types_,
                        common.settings())
    if atype is not None:
        found = engine().list(context(), atype, req.scope, req.filters,
                              req.sort, req.limit, req.marker)
        key, by_name = atype.name, {atype.name: atype}
    else:
        found = engine().list_types(context(), served, req.scope,
                                    req.filters, req.sort, req.limit,
                                    req.marker)
        key, by_name = ALL, {t.name: t for t in served}
    page = [render.artifact(by_name[a["type_name"]], a) for a in found]
    body = {key: page}
    body.update(listing.links("/artifacts/%s" % key, flask.request.args,
                              page, req.limit, flask.request.script_root))
    body["schema"] = common.url("/artifacts/schemas" + (
        "/" + atype.name if atype is not None else ""))
    return render.json_response(body)


# ------------------------------------------------------------------ create

def _link(path, method, **extra):
    pointer = path.replace("~", "~0").replace("/", "~1")
    params = {"type_name": "$request.path.type_name",
              "artifact_id": "$response.body#/id"}
    params.update(extra)
    return {"operationRef": "#/paths/%s/%s" % (pointer, method),
            "parameters": params}


ONE_DOC = "/artifacts/{type_name}/{artifact_id}"
# What a client (or a fuzzer's stateful phase) can do with a new artifact.
CREATED_LINKS = {
    "show": _link(ONE_DOC, "get"),
    "patch": _link(ONE_DOC, "patch"),
    "delete": _link(ONE_DOC, "delete"),
    "activate": _link(ONE_DOC + "/actions/activate", "post"),
    "publish": _link(ONE_DOC + "/actions/publish", "post"),
    "upload": _link(ONE_DOC + "/{field}", "put"),
    "download": _link(ONE_DOC + "/{field}", "get"),
    "upload_file": _link(ONE_DOC + "/{field}/{path}", "put"),
    "members": _link(ONE_DOC + "/members", "get"),
    "add_member": _link(ONE_DOC + "/members", "post"),
}


def _create_values(atype, body):
    type_schema.validate(type_schema.input_validator(atype), body)
    values = {"name": body["name"], "properties": {}}
    if "version" in body:
        common.parse_version(body["version"])
    for key in ("version", "visibility", "tags"):
        if key in body:
            values[key] = body[key]
    if "owner" in body:
        if body["owner"] is None:
            raise errors.Invalid("'owner' cannot be null.")
        values["owner"] = body["owner"]
    common_fields = type_schema.common_properties(atype)
    for name, value in body.items():
        if name not in common_fields and value is not None:
            values["properties"][name] = value
    return values


@blp.route("/<type_name>", methods=["POST"], endpoint="create_artifact",
           parameters=[type_parameter(with_all=True)])
@blp.arguments(models.ArtifactCreate, as_kwargs=False)
@blp.response(201, models.Artifact)
@blp.doc(responses={201: {"links": CREATED_LINKS}})
@document_errors(400, 403, 404, 409, 413, 415)
def create_artifact(body, atype):
    """Create an artifact (status drafted) from its metadata."""
    art = engine().create(context(), atype, _create_values(atype, body))
    return render.json_response(
        render.artifact(atype, art), 201,
        {"Location": common.url("/artifacts/%s/%s" % (atype.name,
                                                       art["id"]))})


# ------------------------------------------------------- one artifact

ONE = "/<type_name>/<artifact_id>"


@blp.route(ONE, methods=["GET"], endpoint="show_artifact",
           parameters=[type_parameter(), ID_PARAMETER])
@blp.response(200, models.Artifact)
@document_errors(400, 404)
def show_artifact(atype, artifact_id):
    """Show an artifact."""
    art = engine().get(context(), atype, artifact_id)
    return render.json_response(render.artifact(atype, art))


@blp.route(ONE, methods=["PATCH"], endpoint="patch_artifact",
           parameters=[type_parameter(), ID_PARAMETER])
@blp.arguments(models.PatchOperation(many=True), as_kwargs=False,
               content_type=common.JSON_PATCH)
@blp.response(200, models.Artifact)
@document_errors(400, 403, 404, 409, 413, 415)
def patch_artifact(ops, atype, artifact_id):
    """Change an artifact with an RFC 6902 JSON patch (add, remove,
    replace)."""
    art = engine().update(context(), atype, artifact_id,
                          json_patch.mutator(atype, ops))
    return render.json_response(render.artifact(atype, art))


@blp.route(ONE, methods=["DELETE"], endpoint="delete_artifact",
           parameters=[type_parameter(), ID_PARAMETER])
@blp.response(204)
@document_errors(400, 403, 404, 409)
def delete_artifact(atype, artifact_id):
    """Delete an artifact and its data."""
    engine().delete(context(), atype, artifact_id)
    return render.no_content()


# ----------------------------------------------------------------- actions

def _action(name):
    return blp.route(ONE + "/actions/" + name, methods=["POST"],
                     endpoint=name, parameters=[type_parameter(),
                                                ID_PARAMETER])


def _done(atype, artifact_id, art=None):
    if art is None:
        art = engine().get(context(), atype, artifact_id)
    return render.json_response(render.artifact(atype, art))


@_action("activate")
@blp.response(200, models.Artifact)
@document_errors(400, 403, 404, 409)
def activate(atype, artifact_id):
    """drafted → active, once every required field and blob is set; the
    artifact is immutable afterwards except for its mutable fields."""
    common.reject_body()
    return _done(atype, artifact_id,
                 engine().activate(context(), atype, artifact_id))


@_action("deactivate")
@blp.response(200, models.Artifact)
@document_errors(400, 403, 404, 409)
def deactivate(atype, artifact_id):
    """active → deactivated: its data cannot be downloaded by non-admins."""
    common.reject_body()
    engine().change_status(context(), atype, artifact_id, "deactivate",
                           "active", "deactivated")
    return _done(atype, artifact_id)


@_action("reactivate")
@blp.response(200, models.Artifact)
@document_errors(400, 403, 404, 409)
def reactivate(atype, artifact_id):
    """deactivated → active."""
    common.reject_body()
    engine().change_status(context(), atype, artifact_id, "reactivate",
                           "deactivated", "active")
    return _done(atype, artifact_id)


@_action("publish")
@blp.response(200, models.Artifact)
@document_errors(400, 403, 404, 409)
def publish(atype, artifact_id):
    """Make an active artifact public (policy ``artifact:publicize``)."""
    common.reject_body()

    def mutate(art):
        if art["status"] != atype.active_status:
            raise errors.Forbidden("Only an active %s can be published; "
                                   "this one is %s." % (atype.noun,
                                                        art["status"]))
        art["visibility"] = "public"
    return _done(atype, artifact_id,
                 engine().update(context(), atype, artifact_id, mutate))
