"""The list query: visibility, filters, sort and keyset paging, all in SQL.

Callers describe what they want with plain data:

* ``Scope(project_id, is_admin, visibility, member_status)`` says whose
  artifacts the caller may see (the sharing rules are the core's, Glance
  merely names them);
* ``filters`` is a list of ``Filter(key, op, value, kind)``: ``key`` is an
  ``artifacts`` column or a property name, ``op`` one of eq, neq, in, gt,
  gte, lt, lte, ``kind`` the property's value kind (string, integer,
  numeric, boolean) or ``"tag"``; ``LATEST`` (kind ``"latest"``) keeps,
  of each name, only the highest version (see ``_latest_clause``);
* ``sort`` is a list of ``(key, direction, kind)``.

Paging is keyset-based on the sort keys plus ``created_at`` and ``id`` as
tie-breakers, so a page costs the same wherever it is in the list.  NULLs
sort as ``''`` / ``0`` on every database, as in Glance.
"""

import dataclasses

import sqlalchemy as sa
from sqlalchemy.sql import util as sql_util

from artifacts.db.api import COLUMNS, STRING_LIMIT
from artifacts.db.models import (artifact_members, artifact_properties,
                                 artifact_tags, artifacts)

A = artifacts
P = artifact_properties
M = artifact_members

_VALUE_COLUMN = {"string": "string_value", "integer": "int_value",
                 "numeric": "numeric_value", "boolean": "bool_value"}
_NULL_AS = {"string": "", "integer": 0, "numeric": 0, "boolean": False}


@dataclasses.dataclass
class Scope:
    project_id: str | None
    is_admin: bool = False
    visibility: str | None = None       # None: default list rules
    member_status: str = "accepted"     # or pending, rejected, all


@dataclasses.dataclass
class Filter:
    key: str
    op: str
    value: object
    kind: str = "string"


# ``version=latest``: of each (type, name, owner), only the rows holding the
# highest version that the rest of the query lets through.
LATEST = Filter("version", "latest", None, kind="latest")


def _compare(expr, op, value):
    if op == "eq":
        return expr == value
    if op == "neq":
        return expr != value
    if op == "in":
        return expr.in_(list(value))
    if op == "gt":
        return expr > value
    if op == "gte":
        return expr >= value
    if op == "lt":
        return expr < value
    if op == "lte":
        return expr <= value
    raise ValueError("unknown operator %r" % op)


def _visibility_clause(scope):
    me = scope.project_id
    if scope.is_admin:
        clause = sa.true()
    else:
        member = sa.select(M.c.artifact_id).where(
            M.c.artifact_id == A.c.id, M.c.member == me)
        if scope.member_status != "all":
            member = member.where(M.c.status == scope.member_status)
        clause = sa.or_(
            A.c.visibility.in_(["public", "community"]),
            A.c.owner == me,
            sa.and_(A.c.visibility == "shared", member.exists()))
    if scope.visibility and scope.visibility != "all":
        clause = sa.and_(clause, A.c.visibility == scope.visibility)
    elif scope.visibility is None:
        # Community artifacts are listed by default only to their owner.
        clause = sa.and_(clause, sa.or_(A.c.visibility != "community",
                                        A.c.owner == me))
    return clause


def _property_filter(flt):
    column = _VALUE_COLUMN.get(flt.kind, "string_value")
    value_col = P.c[column]
    # Scalars and list items (contains) match; dict items and markers don't.
    conds = [P.c.artifact_id == A.c.id, P.c.name == flt.key,
             P.c.position >= 0]
    if flt.kind == "string":
        values = flt.value if flt.op == "in" else [flt.value]
        if any(v is not None and len(str(v)) > STRING_LIMIT
               for v in values):
            value_col = P.c.text_value
    conds.append(_compare(value_col, flt.op, flt.value))
    return sa.select(P.c.id).where(*conds).exists()


def _filter_clause(flt):
    if flt.kind == "tag":
        return sa.select(artifact_tags.c.artifact_id).where(
            artifact_tags.c.artifact_id == A.c.id,
            artifact_tags.c.value == flt.value).exists()
    if flt.key in COLUMNS:
        return _compare(COLUMNS[flt.key], flt.op, flt.value)
    return _property_filter(flt)


def _sort_expressions(sort):
    """(expression, direction, joins) for each sort key."""
    exprs, joins = [], []
    for key, direction, kind in sort:
        if key in COLUMNS:
            expr = COLUMNS[key]
            if COLUMNS[key].nullable:
                expr = sa.func.coalesce(expr, _NULL_AS.get(kind, ""))
        else:
            alias = P.alias("sort_%d" % len(joins))
            joins.append((alias, sa.and_(
                alias.c.artifact_id == A.c.id, alias.c.name == key,
                alias.c.position == 0, alias.c.item_key == "")))
            expr = sa.func.coalesce(alias.c[_VALUE_COLUMN.get(kind,
                                                              "string_value")],
                                    _NULL_AS.get(kind, ""))
        exprs.append((expr, direction))
    return exprs, joins


def _with_tiebreakers(sort):
    keys = [k for k, _, _ in sort]
    direction = sort[0][1] if sort else "desc"
    sort = list(sort)
    if "created_at" not in keys:
        sort.append(("created_at", direction, "datetime"))
    if "id" not in keys:
        sort.append(("id", direction, "string"))
    return sort


def list_ids(conn, type_name, scope, filters=(), sort=(), limit=25,
             marker_id=None, hidden_statuses=(), type_names=None,
             rows=False, marker_row=None):
    """Ids of one page of artifacts, in order (their whole ``artifacts``
    rows with ``rows=True``, which saves the caller a round trip).

    ``type_names`` (a list) lists artifacts of any of these types instead
    of ``type_name`` alone (``GET /artifacts/all``).
    """
    sort = _with_tiebreakers(sort)
    exprs, joins = _sort_expressions(sort)
    source = A
    for alias, cond in joins:
        source = source.outerjoin(alias, cond)
    type_clause = A.c.type_name == type_name if type_names is None \
        else A.c.type_name.in_(list(type_names))
    where = [type_clause, A.c.deleted == sa.false(),
             _visibility_clause(scope)]
    if hidden_statuses:
        where.append(A.c.status.not_in(list(hidden_statuses)))
    where.extend(_filter_clause(f) for f in filters if f.kind != "latest")
    if any(f.kind == "latest" for f in filters):
        where.append(_latest_clause(where))
    if marker_id is not None:
        marker_values = _values_of(marker_row, sort)
        if marker_values is None:
            marker_values = conn.execute(
                sa.select(*[e for e, _ in exprs]).select_from(source).where(
                    A.c.id == marker_id)).first()
        if marker_values is not None:
            where.append(_after_marker(exprs, marker_values))
    order = [e.asc() if d == "asc" else e.desc() for e, d in exprs]
    query = (sa.select(*(A.c if rows else [A.c.id])).select_from(source)
             .where(*where).order_by(*order).limit(limit))
    result = conn.execute(query)
    return result.all() if rows else [row.id for row in result]


def _values_of(row, sort):
    """The marker's sort values straight from its row (an artifact dict the
    caller already read), when every sort key is a column; else None."""
    if row is None or any(key not in COLUMNS for key, _, _ in sort):
        return None
    values = []
    for key, _, kind in sort:
        value = row["version_sort" if key == "version" else key]
        if value is None and COLUMNS[key].nullable:
            value = _NULL_AS.get(kind, "")
        values.append(value)
    return values


def _after_marker(exprs, values):
    """Rows strictly after the marker in the sort order."""
    alternatives = []
    for i, (expr, direction) in enumerate(exprs):
        equal = [exprs[j][0] == values[j] for j in range(i)]
        beyond = expr > values[i] if direction == "asc" else expr < values[i]
        alternatives.append(sa.and_(*equal, beyond))
    return sa.or_(*alternatives)


def _latest_clause(where):
    """Rows whose version is the highest among the rows of the same type,
    name and owner that ``where`` (visibility, statuses, the other filters)
    lets through: a correlated ``max(version_sort)`` on an alias of the
    table, so it is one indexed query on every database.

    Grouping by owner as well as name keeps one project's series from
    hiding another's (each project's "foo" has its own latest), which is
    also the scope versions are unique in.
    """
    other = A.alias("latest_of")
    adapt = sql_util.ClauseAdapter(other).traverse
    highest = (sa.select(sa.func.max(other.c.version_sort))
               .where(other.c.type_name == A.c.type_name,
                      other.c.name == A.c.name,
                      sa.func.coalesce(other.c.owner, "")
                      == sa.func.coalesce(A.c.owner, ""),
                      *[adapt(clause) for clause in where])
               .correlate(A).scalar_subquery())
    return A.c.version_sort == highest
