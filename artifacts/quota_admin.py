"""What the quota API does (``/artifacts/quotas``): show a project's
effective limits and usage, and set overrides (admin), all through
``artifacts.quotas`` (the checks and the SQL live there)."""

import logging

from artifacts import errors, types
from artifacts.db.api import utcnow
from artifacts.db.session import read, transaction
from artifacts.quotas import (ALL_TYPES, NAMES, RULE, Q, _in_scope,
                              _valid_value)

LOG = logging.getLogger(__name__)


def _visible_project(engine, ctx, project_id):
    """The project a caller asks about: its own, or any for an admin
    (``artifact:manage_quotas``)."""
    project_id = project_id or ctx.project_id
    if not project_id:
        raise errors.Invalid("Name the project: ?project_id=<id>.")
    if not isinstance(project_id, str) or len(project_id) > 255:
        raise errors.Invalid("project_id must be a string of at most 255 "
                             "characters.")
    if project_id != ctx.project_id and not engine.enforcer.check(
            ctx, RULE, {"project_id": project_id, "owner": project_id}):
        raise errors.Forbidden("You may only see the quotas of your own "
                               "project.")
    return project_id


def _render(project_id, limits):
    return [{"project_id": project_id, "type_name": limit.type_name,
             "name": limit.name, "value": limit.value,
             "source": limit.source} for limit in limits]


def get_quotas(engine, ctx, project_id=None):
    """``{"quotas": [...]}``: the effective limit of every quota of the
    project, for its total and each type, with where it comes from
    (``override``, ``type_default``, ``global_default`` or ``none``)."""
    project_id = _visible_project(engine, ctx, project_id)
    quotas = engine.quotas
    limits = read(engine.db, lambda conn: quotas.effective(conn, project_id))
    return {"quotas": _render(project_id, limits)}


def _entries(engine, values):
    """Validated ``[(project_id, type_name, name, value or None)]``."""
    if not isinstance(values, list) or not values:
        raise errors.Invalid("'quotas' must be a non-empty list of "
                             "{project_id, type_name, name, value}.")
    known = types.all_types()
    seen = set()
    entries = []
    for index, item in enumerate(values):
        where = "quotas[%d]" % index
        if not isinstance(item, dict):
            raise errors.Invalid("%s must be an object with project_id, "
                                 "type_name, name and value." % where)
        extra = set(item) - {"project_id", "type_name", "name", "value"}
        if extra:
            raise errors.Invalid("%s has unknown key(s): %s."
                                 % (where, ", ".join(sorted(extra))))
        project_id = item.get("project_id")
        if not isinstance(project_id, str) or not project_id.strip() or \
                len(project_id) > 255 or "\x00" in project_id:
            raise errors.Invalid("%s.project_id must be a non-empty string "
                                 "of at most 255 characters." % where)
        type_name = item.get("type_name", ALL_TYPES)
        if type_name is None:
            type_name = ALL_TYPES
        if not isinstance(type_name, str) or (
                type_name != ALL_TYPES and type_name not in known):
            raise errors.Invalid("%s.type_name must be '' (all types) or "
                                 "one of: %s." % (where,
                                                  ", ".join(sorted(known))))
        name = item.get("name")
        if name not in NAMES:
            raise errors.Invalid("%s.name must be one of: %s."
                                 % (where, ", ".join(NAMES)))
        if "value" not in item:
            raise errors.Invalid("%s.value is missing (an integer ≥ -1, or "
                                 "null to remove the override)." % where)
        value = item["value"]
        if value is not None:
            _valid_value(value, "%s.value" % where)
        external = engine.quotas.external
        if external is not None and (type_name, name) in external.managed:
            raise errors.Invalid(
                "%s: %s of %s is read from %s; change it there."
                % (where, name, type_name or "all types", external.where))
        key = (project_id, type_name, name)
        if key in seen:
            raise errors.Invalid("%s sets %s of %r (%s) a second time."
                                 % (where, name, project_id,
                                    type_name or "all types"))
        seen.add(key)
        entries.append((project_id, type_name, name, value))
    return entries


def set_quotas(engine, ctx, values):
    """Apply overrides (admin, ``artifact:manage_quotas``), all or none.

    ``values``: ``[{"project_id", "type_name" ('' = all types), "name",
    "value"}]``; ``value`` is an integer ≥ -1 (-1 unlimited) or ``None``
    to remove the override (the default applies again).  Returns the
    resulting effective quotas of every project named:
    ``{"quotas": [...]}`` as ``get_quotas``.
    """
    entries = _entries(engine, values)
    projects = sorted({entry[0] for entry in entries})
    for project_id in projects:
        engine.enforcer.enforce(ctx, RULE, {"project_id": project_id,
                                            "owner": project_id})
    quotas = engine.quotas

    def run(conn):
        for project_id in projects:          # sorted: no deadlocks
            quotas._guard(conn, project_id)
        now = utcnow()
        for project_id, type_name, name, value in entries:
            conn.execute(Q.delete().where(Q.c.project_id == project_id,
                                          Q.c.type_name == type_name,
                                          Q.c.name == name))
            if value is not None:
                conn.execute(Q.insert().values(
                    project_id=project_id, type_name=type_name, name=name,
                    value=value, updated_at=now))
        return [row for project_id in projects
                for row in _render(project_id,
                                   quotas.effective(conn, project_id))]
    result = transaction(engine.db, run)
    LOG.info("Quotas set by %s: %s", ctx.user_id, ", ".join(
        "%s/%s/%s=%s" % (p, t or "*", n, v) for p, t, n, v in entries))
    return {"quotas": result}


def usage(engine, ctx, project_id=None):
    """``{"project_id", "usage": [{"type_name", "name", "used", "limit"}]}``
    for the project's total ('') and each type."""
    project_id = _visible_project(engine, ctx, project_id)
    quotas = engine.quotas

    def run(conn):
        used = quotas.used(conn, project_id)
        return [{"type_name": limit.type_name, "name": limit.name,
                 "used": _in_scope(used[limit.name], limit.type_name),
                 "limit": limit.value}
                for limit in quotas.effective(conn, project_id)]
    return {"project_id": project_id, "usage": read(engine.db, run)}
