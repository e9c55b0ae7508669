"""The Artifact API (``/artifacts/...``): every artifact type but the
Glance face's images, as flask-smorest blueprints on the one Flask app.

``init_app(app, conf, engine)`` registers the blueprints and serves the
OpenAPI document at ``/artifacts/openapi.json`` with an interactive page
at ``/artifacts/docs`` (Swagger UI, whose scripts and styles are served
by Glare itself from the installed ``flask-swagger-ui`` package (Swagger
UI 5, which reads OpenAPI 3.1) under
``/artifacts/docs/assets/``: the page works on a machine without
internet and makes no outside request).  Errors under ``/artifacts`` are rendered by
``artifacts.api.errors`` (``owns`` tells ``glare.app`` which face a path
belongs to).
"""

import dataclasses
import os

import flask
import flask_smorest
import flask_swagger_ui

from artifacts.api import errors

# Relative to the page (/artifacts/docs), so the page keeps working when
# a proxy mounts Glare under a path prefix.
SWAGGER_UI_ASSETS = "docs/assets/"
SWAGGER_UI_DIST = os.path.join(os.path.dirname(flask_swagger_ui.__file__),
                               "dist")

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
        "OPENAPI_SWAGGER_UI_URL": SWAGGER_UI_ASSETS,
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
    app.add_url_rule(errors.PREFIX + "/docs/assets/<path:name>",
                     "artifacts_docs_assets", _docs_asset)
    return api


def _docs_asset(name):
    """One file of the Swagger UI bundle (send_from_directory refuses
    names that leave the bundle's directory)."""
    return flask.send_from_directory(SWAGGER_UI_DIST, name, max_age=86400)
