"""The Artifact API (``/artifacts/...``): every artifact type but the
Glance face's images, as flask-smorest blueprints on the one Flask app.

``init_app(app, conf, engine)`` registers the blueprints and serves the
OpenAPI document at ``/artifacts/openapi.json`` with an interactive page
at ``/artifacts/docs`` (Swagger UI; its scripts come from a CDN, so
offline the page loads but stays blank -- the JSON document is complete
on its own).  Errors under ``/artifacts`` are rendered by
``artifacts.api.errors`` (``owns`` tells ``glare.app`` which face a path
belongs to).
"""

import dataclasses

import flask_smorest

from artifacts.api import errors

SWAGGER_UI_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/"

owns = errors.owns
render_error = errors.render


@dataclasses.dataclass
class Settings:
    limit_param_default: int = 25
    api_limit_max: int = 1000


class Api(flask_smorest.Api):
    """flask-smorest's Api without its app-wide HTTPException handler:
    errors are rendered per face by ``glare.app``; its default error
    response is documented with the API's error schema."""

    from artifacts.api.models import Error as ERROR_SCHEMA

    def _register_error_handlers(self):
        pass


def init_app(app, conf, engine):
    from artifacts.api import artifacts, data, members, models, schemas

    app.config.update({
        "API_TITLE": "Glare Artifact API",
        "API_VERSION": "1.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": errors.PREFIX,
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": SWAGGER_UI_CDN,
    })
    app.extensions["glare_artifacts"] = {
        "engine": engine,
        "settings": Settings(limit_param_default=conf.limit_param_default,
                             api_limit_max=conf.api_limit_max)}
    app.url_map.converters["anypath"] = data.AnyPathConverter
    api = Api(app, spec_kwargs={
        "info": {"description": "Artifacts of declared types (Heat and "
                                "TOSCA templates, VNF packages, files): "
                                "versions, lifecycle, blobs and folders, "
                                "sharing.  Errors are "
                                "{\"error\": {\"code\", \"title\", "
                                "\"message\"}}."}})
    api.register_converter(data.AnyPathConverter, data.path_schema)
    api.spec.components.schema("ExternalLocation",
                                schema=models.ExternalLocation)
    for blp in (schemas.blp, artifacts.blp, data.blp, members.blp):
        api.register_blueprint(blp)
    return api
