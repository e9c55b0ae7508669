"""``/artifacts/quotas``: per-project quotas in the Artifact API.

* ``GET /artifacts/quotas[?project_id=]``: the effective limits of a
  project (yours; any for an admin), its total ('') and each type;
* ``PUT /artifacts/quotas`` (admin, ``artifact:manage_quotas``):
  ``{"quotas": [{"project_id", "type_name", "name", "value"}]}`` sets
  overrides (``value`` -1 unlimited, ``null`` removes the override) all or
  none, and answers with the resulting effective quotas of those projects;
* ``GET /artifacts/quotas/usage[?project_id=]``: what the project uses
  against each limit.

The views parse and render; ``artifacts.quotas`` checks the values and the
policy and does the work.
"""

import flask
import marshmallow as ma
from marshmallow import fields, validate

from artifacts import quota_admin, quotas
from artifacts.api import common
from artifacts.api.common import Blueprint, context

bp = Blueprint("artifact_quotas", __name__, url_prefix="/artifacts/quotas",
               description="Per-project quotas (artifact_count, "
                           "stored_bytes, uploading_bytes, staged_bytes, "
                           "uploading_count): effective limits, overrides "
                           "(admin) and usage.")

NAME = fields.String(required=True, validate=validate.OneOf(quotas.NAMES))
TYPE_NAME = {"description": "An artifact type, or '' for the project's "
                            "total over all types"}


class QuotaQuery(ma.Schema):
    project_id = fields.String(
        load_default=None, validate=validate.Length(min=1, max=255),
        metadata={"description": "Default: your project; another one "
                                 "needs artifact:manage_quotas (admin)"})


class Quota(ma.Schema):
    project_id = fields.String(required=True)
    type_name = fields.String(required=True, metadata=TYPE_NAME)
    name = NAME
    value = fields.Integer(required=True,
                           metadata={"description": "-1 is unlimited"})
    source = fields.String(
        required=True, validate=validate.OneOf(
            ["override", "type_default", "global_default", "none",
             "keystone"]),
        metadata={"description": "Where the value comes from: the "
                                 "project's override, the type's or the "
                                 "global default of [quotas], none "
                                 "(unlimited), or keystone (Keystone's "
                                 "unified limits, use_keystone_limits)"})


class Quotas(ma.Schema):
    quotas = fields.List(fields.Nested(Quota), required=True)


class QuotaChange(ma.Schema):
    project_id = fields.String(required=True,
                               validate=validate.Length(min=1, max=255))
    type_name = fields.String(load_default="", metadata=TYPE_NAME)
    name = NAME
    value = fields.Integer(
        required=True, allow_none=True, strict=True,
        metadata={"description": "-1 unlimited; null removes the "
                                 "override (the default applies again)"})


class QuotaUpdate(ma.Schema):
    quotas = fields.List(fields.Nested(QuotaChange), required=True,
                         validate=validate.Length(min=1))


class UsageItem(ma.Schema):
    type_name = fields.String(required=True, metadata=TYPE_NAME)
    name = NAME
    used = fields.Integer(required=True,
                          metadata={"description": "uploading_bytes: "
                                                   "bytes reserved by "
                                                   "uploads in progress"})
    limit = fields.Integer(required=True,
                           metadata={"description": "-1 is unlimited"})


class Usage(ma.Schema):
    project_id = fields.String(required=True)
    usage = fields.List(fields.Nested(UsageItem), required=True)


def _engine():
    ext = flask.current_app.extensions
    if "glare_artifacts" in ext:
        return common.engine()
    return ext["glare"]["engine"]


@bp.route("", methods=["GET"], endpoint="get_quotas")
@bp.arguments(QuotaQuery, location="query", as_kwargs=True)
@bp.response(200, Quotas)
def get_quotas(project_id):
    """Effective quotas of a project."""
    common.reject_body()
    return quota_admin.get_quotas(_engine(), context(), project_id)


@bp.route("", methods=["PUT"], endpoint="set_quotas")
@bp.arguments(QuotaUpdate, as_kwargs=False)
@bp.response(200, Quotas)
def set_quotas(body):
    """Set per-project (and per-project-and-type) overrides (admin); all
    or none.  Answers with the resulting effective quotas of the projects
    named."""
    return quota_admin.set_quotas(_engine(), context(), body["quotas"])


@bp.route("/usage", methods=["GET"], endpoint="get_usage")
@bp.arguments(QuotaQuery, location="query", as_kwargs=True)
@bp.response(200, Usage)
def get_usage(project_id):
    """What a project uses against each of its limits."""
    common.reject_body()
    return quota_admin.usage(_engine(), context(), project_id)
