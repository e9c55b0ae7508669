"""``/artifacts/schemas[/{type}]``: each type's JSON Schema, generated from
its declaration (``artifacts.types.schema``)."""

from artifacts.api import common, models, render
from artifacts.api.common import Blueprint
from artifacts.types import schema as type_schema

blp = Blueprint("artifact_schemas", __name__, url_prefix="/artifacts",
                description="JSON Schemas of the artifact types.")


@blp.before_request
def _no_body():
    common.reject_body()


@blp.route("/schemas", methods=["GET"], endpoint="list_schemas")
@blp.response(200, models.Schemas)
def list_schemas():
    """The JSON Schema of every artifact type."""
    return render.json_response({"schemas": {
        name: type_schema.type_schema(atype)
        for name, atype in common.served_types().items()}})


@blp.route("/schemas/<type_name>", methods=["GET"], endpoint="show_schema",
           parameters=[{"in": "path", "name": "type_name", "required": True,
                        "schema": {"type": "string",
                                   "enum": list(common.served_types())}}])
@blp.response(200, models.Schemas)
def show_schema(type_name):
    """The JSON Schema of one artifact type."""
    atype = common.artifact_type(type_name)
    return render.json_response({"schemas": {
        atype.name: type_schema.type_schema(atype)}})
