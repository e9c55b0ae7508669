"""Members: sharing an artifact with other projects.

``Sharing`` is the engine's collaborator for members (``engine.sharing``);
it uses the engine to load an artifact the caller may see and to build
policy targets, so the same visibility rules apply.  Only
``shared`` artifacts have members; the owner adds and removes them, a member
changes only its own status, and an artifact the caller cannot see is
NotFound.
"""

import sqlalchemy as sa

from artifacts import errors
from artifacts.db import api as db
from artifacts.db.session import read, transaction


class Sharing:
    """add/list/get/update/delete members of a ``shared`` artifact."""

    def __init__(self, engine):
        self.engine = engine

    @property
    def db(self):
        return self.engine.db

    @property
    def enforcer(self):
        return self.engine.enforcer

    @property
    def limits(self):
        return self.engine.limits

    def _shared_artifact(self, ctx, atype, artifact_id, rule, message):
        artifact, membership = self.engine._fetch(ctx, atype, artifact_id)
        target = self.engine._target(artifact, ctx, membership)
        if artifact["visibility"] != "shared":
            raise errors.Forbidden(message % artifact_id)
        return artifact, membership, target

    def add_member(self, ctx, atype, artifact_id, member):
        artifact, _, target = self._shared_artifact(
            ctx, atype, artifact_id, "add_member",
            "Not allowed to create members for %s %%s." % atype.noun)
        self.enforcer.enforce(ctx, atype.rule("add_member"), target)

        def run(conn):
            if db.members(conn, artifact_id, member):
                raise errors.Conflict("Member %s is duplicated for %s %s"
                                      % (member, atype.noun, artifact_id))
            limit = self.limits.max_members
            if limit >= 0 and db.count_members(conn, artifact_id) >= limit:
                raise errors.QuotaExceeded(
                    "The limit has been exceeded on the number of allowed "
                    "%s members for this %s. Attempted: %d, Maximum: %d"
                    % (atype.noun, atype.noun, limit + 1, limit))
            db.insert_member(conn, artifact_id, member)
            return db.members(conn, artifact_id, member)[0]
        try:
            row = transaction(self.db, run)
        except sa.exc.IntegrityError:
            raise errors.Conflict("Member %s is duplicated for %s %s"
                                  % (member, atype.noun, artifact_id))
        self.engine.events.emit("member_create", ctx, atype, artifact_id,
                                artifact, member=row)
        return row

    def list_members(self, ctx, atype, artifact_id):
        artifact, membership, target = self._shared_artifact(
            ctx, atype, artifact_id, "get_members",
            "Not allowed to list members for %s %%s: Only shared %ss have "
            "members." % (atype.noun, atype.noun))
        self.enforcer.enforce(ctx, atype.rule("get_members"), target)
        if ctx.is_admin or artifact["owner"] == ctx.project_id:
            return read(self.db, lambda c: db.members(c, artifact_id))
        return read(self.db, lambda c: db.members(c, artifact_id,
                                                  ctx.project_id))

    def get_member(self, ctx, atype, artifact_id, member):
        artifact, membership = self.engine._fetch(ctx, atype, artifact_id)
        target = self.engine._target(artifact, ctx, membership)
        rows = read(self.db, lambda c: db.members(c, artifact_id, member))
        allowed = ctx.is_admin or artifact["owner"] == ctx.project_id or \
            member == ctx.project_id
        if not rows or not allowed or not self.enforcer.check(
                ctx, atype.rule("get_member"), target):
            raise errors.NotFound("%s %s not found."
                                  % (atype.noun.capitalize(), artifact_id))
        return rows[0]

    def update_member(self, ctx, atype, artifact_id, member, status):
        artifact, membership = self.engine._fetch(ctx, atype, artifact_id)
        rows = read(self.db, lambda c: db.members(c, artifact_id, member))
        if not rows:
            raise errors.NotFound("%s %s not found."
                                  % (atype.noun.capitalize(), artifact_id))
        target = dict(self.engine._target(artifact, ctx, membership),
                      member_id=member)
        self.enforcer.enforce(ctx, atype.rule("modify_member"), target)
        if member != ctx.project_id and not ctx.is_admin:
            raise errors.Forbidden("You are not authorized to complete "
                                   "modify_member action.")
        transaction(self.db, lambda c: db.update_member(c, artifact_id,
                                                        member, status))
        row = read(self.db, lambda c: db.members(c, artifact_id, member))[0]
        self.engine.events.emit("member_update", ctx, atype, artifact_id,
                                artifact, member=row)
        return row

    def delete_member(self, ctx, atype, artifact_id, member):
        artifact, membership = self.engine._fetch(ctx, atype, artifact_id)
        target = self.engine._target(artifact, ctx, membership)
        rows = read(self.db, lambda c: db.members(c, artifact_id, member))
        if not rows:
            raise errors.NotFound("%s %s not found."
                                  % (atype.noun.capitalize(), artifact_id))
        self.enforcer.enforce(ctx, atype.rule("delete_member"), target)
        if artifact["owner"] != ctx.project_id and not ctx.is_admin:
            raise errors.Forbidden("You are not authorized to complete "
                                   "delete_member action.")
        transaction(self.db, lambda c: db.delete_member(c, artifact_id,
                                                        member))
        self.engine.events.emit("member_delete", ctx, atype, artifact_id,
                                artifact, member=rows[0],
                                deleted_at=db.utcnow())
