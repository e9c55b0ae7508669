"""marshmallow schemas of the Artifact API: request parsing and the
OpenAPI document.

Bodies are parsed with these (webargs through ``Blueprint.arguments``);
type-specific fields, which no static schema can know, are then checked
against the type's generated JSON Schema (``artifacts.types.schema``).
Responses are rendered by ``artifacts.api.render``; their schemas here
document them.
"""

import marshmallow as ma
from marshmallow import fields, validate

from artifacts.types.schema import SEMVER_PATTERN, VISIBILITIES

MEMBER_STATUSES = ("pending", "accepted", "rejected")


class ErrorDetail(ma.Schema):
    code = fields.Integer(required=True,
                          metadata={"description": "HTTP status code"})
    title = fields.String(required=True,
                          metadata={"description": "HTTP status phrase"})
    message = fields.String(required=True,
                            metadata={"description": "What was wrong and "
                                                     "how to fix it"})


class Error(ma.Schema):
    error = fields.Nested(ErrorDetail, required=True)


class Blob(ma.Schema):
    size = fields.Integer(allow_none=True)
    md5 = fields.String(allow_none=True)
    sha1 = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(["saving", "active"]))
    external = fields.Boolean()
    url = fields.String()


class ExternalLocation(ma.Schema):
    """A URL registered as a blob's data (never fetched by Glare)."""

    url = fields.String(required=True, validate=[
        validate.Length(min=1, max=2048),
        validate.Regexp(r"^[^\x00-\x20\x7f]+$",
                        error="URLs have no spaces or control characters.")])
    size = fields.Integer(validate=validate.Range(min=0, max=2 ** 63 - 1),
                          allow_none=True)
    md5 = fields.String()
    sha1 = fields.String()
    sha256 = fields.String()


class Artifact(ma.Schema):
    """Common fields; each type adds its declared fields (see
    ``/artifacts/schemas/{type_name}``): blobs as Blob objects, folders as
    maps of path to Blob."""

    class Meta:
        unknown = ma.INCLUDE

    id = fields.UUID(dump_only=True)
    type_name = fields.String(dump_only=True)
    name = fields.String()
    version = fields.String()
    owner = fields.String(allow_none=True)
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    status = fields.String()
    tags = fields.List(fields.String())
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ArtifactCreate(ma.Schema):
    """name (required), version, visibility, tags, and the type's writable
    declared fields."""

    class Meta:
        unknown = ma.INCLUDE

    name = fields.String(required=True,
                         validate=validate.Length(min=1, max=255))
    version = fields.String(validate=[validate.Length(max=255),
                                      validate.Regexp(SEMVER_PATTERN)],
                            metadata={"example": "1.0.0"})
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    owner = fields.String(allow_none=True,
                          validate=validate.Length(min=1, max=255))
    tags = fields.List(fields.String(validate=validate.Length(min=1,
                                                             max=255)))


class PatchOperation(ma.Schema):
    """One RFC 6902 operation (add, remove or replace)."""

    op = fields.String(required=True,
                       validate=validate.OneOf(["add", "remove", "replace"]))
    path = fields.String(required=True, metadata={"example": "/name"})
    value = fields.Raw(allow_none=True)


class ArtifactList(ma.Schema):
    """``{"<type_name>": [artifact, ...], "first", "next", "schema"}``."""

    class Meta:
        unknown = ma.INCLUDE

    first = fields.String(metadata={"description": "The first page"})
    next = fields.String(metadata={"description": "The next page (only "
                                                  "when this one is full)"})
    schema = fields.String(metadata={"description": "The type's schema"})


class ListQuery(ma.Schema):
    """Besides these, any declared scalar field of the type filters with
    ``[op:]value`` as its ``filter_ops`` allow (see the type's schema)."""

    class Meta:
        unknown = ma.INCLUDE

    limit = fields.Integer(validate=validate.Range(min=0),
                           metadata={"description": "Page size (default "
                                                    "25, at most 1000)"})
    marker = fields.String(metadata={"description": "Id of the last "
                                                    "artifact of the "
                                                    "previous page"})
    sort = fields.String(metadata={"description": "key[:asc|desc],... "
                                                  "over name, version, "
                                                  "created_at, updated_at "
                                                  "and sortable fields",
                                   "example": "name:asc,version:desc"})
    name = fields.List(fields.String(), metadata={
        "description": "[eq:|neq:|in:]value"})
    owner = fields.List(fields.String(), metadata={
        "description": "[eq:|neq:|in:]project"})
    status = fields.List(fields.String(), metadata={
        "description": "[eq:|neq:|in:]status"})
    visibility = fields.String(
        validate=validate.OneOf(list(VISIBILITIES) + ["all"]))
    tags = fields.List(fields.String(), metadata={
        "description": "Repeatable: artifacts having every tag given"})
    version = fields.List(fields.String(), metadata={
        "description": "latest, or [eq:|neq:|in:|gt:|gte:|lt:|lte:]semver; "
                       "repeatable for ranges"})


class Member(ma.Schema):
    member = fields.String()
    artifact_id = fields.String()
    status = fields.String(validate=validate.OneOf(MEMBER_STATUSES))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class MemberList(ma.Schema):
    members = fields.List(fields.Nested(Member))


class MemberCreate(ma.Schema):
    member = fields.String(required=True,
                           validate=[validate.Length(min=1, max=255),
                                     validate.Regexp(
                                         r"^[^\x00-\x1f\x7f]+$",
                                         error="Project ids have no "
                                               "control characters.")],
                           metadata={"description": "Project to share "
                                                    "with"})


class MemberUpdate(ma.Schema):
    status = fields.String(required=True,
                           validate=validate.OneOf(MEMBER_STATUSES))


class Schemas(ma.Schema):
    schemas = fields.Dict(keys=fields.String(), values=fields.Dict(),
                          metadata={"description": "type name → JSON "
                                                   "Schema"})
