"""``GET /artifacts/{type}`` query parameters → what the engine lists.

``parse(args, ctx, types_, settings)`` returns a ``ListRequest`` (scope,
filters, sort, limit, marker) or raises ``errors.Invalid`` naming the bad
parameter.  Filters:

* ``name``, ``owner``, ``status``: ``[eq:|neq:|in:]value``;
* ``visibility``: public, private, shared, community or all (the scope);
* ``tags`` (repeatable): artifacts having every tag given;
* ``version``: ``latest`` (per name and owner, the highest version the
  rest of the query lets through) or ``[op:]semver`` with eq, neq, in,
  gt, gte, lt, lte; repeat it for a range (``gte:1.2&version=lt:2``);
* any declared scalar field of the type: ``[op:]value`` with the ops its
  ``filter_ops`` allow, the value coerced to the field's kind.

``sort=key[:asc|desc],...`` over name, version, created_at, updated_at and
the type's sortable fields (default direction desc).  Unknown parameters
are refused rather than ignored, so a typo never widens a query.
"""

import dataclasses
import math
import urllib.parse

from artifacts import errors, versions
from artifacts.db.query import LATEST, Filter, Scope
from artifacts.types.base import SCALAR_KINDS
from artifacts.types.schema import INT64_MAX, INT64_MIN, VISIBILITIES

PAGING = ("limit", "marker", "sort")
COMMON_FILTERS = ("name", "owner", "status", "visibility", "tags",
                  "version")
COMMON_SORT = {"name": "string", "version": "string",
               "created_at": "datetime", "updated_at": "datetime"}
ALL_OPS = ("eq", "neq", "in", "gt", "gte", "lt", "lte")
VERSION_OPS = ALL_OPS
MAX_IN_VALUES = 100


@dataclasses.dataclass
class ListRequest:
    scope: Scope
    filters: list
    sort: list
    limit: int
    marker: str | None


def _limit(args, settings):
    raw = args.get("limit")
    if raw is None:
        return settings.limit_param_default
    try:
        limit = int(raw)
    except ValueError:
        raise errors.Invalid("limit must be a non-negative integer, not %r."
                             % raw)
    if limit < 0:
        raise errors.Invalid("limit must be a non-negative integer, not %r."
                             % raw)
    return min(limit, settings.api_limit_max)


def sortable(types_):
    """{key: kind} of the sort keys every one of ``types_`` has."""
    keys = dict(COMMON_SORT)
    shared = None
    for atype in types_:
        own = {n: f.kind for n, f in atype.fields.items()
               if f.sortable and f.kind in SCALAR_KINDS}
        shared = own if shared is None else {
            k: v for k, v in shared.items() if own.get(k) == v}
    keys.update(shared or {})
    return keys


def _sort(args, types_):
    raw = args.getlist("sort")
    if not raw:
        return []
    keys = sortable(types_)
    result, seen = [], set()
    for item in ",".join(raw).split(","):
        key, _, direction = item.strip().partition(":")
        direction = direction or "desc"
        if key not in keys:
            raise errors.Invalid("Cannot sort by %r; sort keys: %s."
                                 % (key, ", ".join(sorted(keys))))
        if direction not in ("asc", "desc"):
            raise errors.Invalid("Sort direction must be asc or desc, not %r."
                                 % direction)
        if key in seen:
            raise errors.Invalid("Sort key %r is given twice." % key)
        seen.add(key)
        result.append((key, direction, keys[key]))
    return result


def _split_op(raw, allowed, param):
    op, sep, value = raw.partition(":")
    if sep and op in ALL_OPS:
        if op not in allowed:
            raise errors.Invalid("Filter %s does not take %r; it takes: %s."
                                 % (param, op, ", ".join(allowed)))
        return op, value
    if "eq" not in allowed:
        raise errors.Invalid("Filter %s needs an operator: %s."
                             % (param, ", ".join(allowed)))
    return "eq", raw


def _in_values(value, param):
    values = value.split(",")
    if not value or len(values) > MAX_IN_VALUES:
        raise errors.Invalid("Filter %s=in: takes 1 to %d comma-separated "
                             "values." % (param, MAX_IN_VALUES))
    return values


def _coerce(kind, text, param):
    if kind == "string":
        return text
    if kind == "integer":
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not INT64_MIN <= value <= INT64_MAX:
            raise errors.Invalid("Filter %s needs a 64-bit integer, not %r."
                                 % (param, text))
        return value
    if kind == "numeric":
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):
            raise errors.Invalid("Filter %s needs a finite number, not %r."
                                 % (param, text))
        return value
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise errors.Invalid("Filter %s needs true or false, not %r."
                                 % (param, text))
        return lowered == "true"
    raise errors.Invalid("Field %s cannot be filtered on." % param)


def _typed_filter(param, raw, kind, ops, allowed_values=None):
    op, value = _split_op(raw, ops, param)
    if op == "in":
        values = [_coerce(kind, v, param) for v in _in_values(value, param)]
        checked = values
    else:
        values = _coerce(kind, value, param)
        checked = [values]
    if allowed_values is not None:
        wrong = [v for v in checked if v not in allowed_values]
        if wrong:
            raise errors.Invalid("Filter %s: %r is not one of %s."
                                 % (param, wrong[0],
                                    ", ".join(map(str, allowed_values))))
    return Filter(param, op, values, kind)


def _version_filter(raw):
    if raw == "latest":
        return LATEST
    op, value = _split_op(raw, VERSION_OPS, "version")
    texts = _in_values(value, "version") if op == "in" else [value]
    if not value.isascii():
        # versions.parse's \d would read non-ASCII digits as numbers.
        raise errors.Invalid("Filter version: %r is not a semantic version "
                             "(ASCII only)." % value[:100])
    try:
        keys = [versions.sort_key(versions.parse(t)) for t in texts]
    except errors.Invalid as exc:
        raise errors.Invalid("Filter version: %s" % exc.message)
    return Filter("version", op, keys if op == "in" else keys[0], "string")


def _filterable(types_):
    """{param: Field} of the declared scalar fields all ``types_`` share."""
    shared = None
    for atype in types_:
        own = {n: f for n, f in atype.fields.items()
               if f.kind in SCALAR_KINDS + ("link",) and f.filter_ops}
        shared = own if shared is None else {
            k: f for k, f in shared.items()
            if k in own and own[k].kind == f.kind}
    return shared or {}


def parse(args, ctx, types_, settings):
    """A ListRequest for the query string ``args`` (a MultiDict) over the
    types ``types_`` (one, or every served type for ``all``)."""
    declared = _filterable(types_)
    statuses = sorted({s for t in types_ for s in t.statuses})
    filters = []
    visibility = None
    for param in args:
        if param in PAGING:
            continue
        for raw in args.getlist(param):
            if param == "visibility":
                if raw not in VISIBILITIES + ("all",):
                    raise errors.Invalid(
                        "visibility must be one of %s, not %r."
                        % (", ".join(VISIBILITIES + ("all",)), raw))
                if visibility not in (None, raw):
                    raise errors.Invalid("visibility is given twice.")
                visibility = raw
            elif param == "tags":
                if not raw or len(raw) > 255:
                    raise errors.Invalid("A tags filter takes one tag of 1 "
                                         "to 255 characters.")
                filters.append(Filter("tags", "eq", raw, "tag"))
            elif param == "version":
                filters.append(_version_filter(raw))
            elif param in ("name", "owner"):
                filters.append(_typed_filter(param, raw, "string",
                                             ("eq", "neq", "in")))
            elif param == "status":
                filters.append(_typed_filter(param, raw, "string",
                                             ("eq", "neq", "in"), statuses))
            elif param in declared:
                fdef = declared[param]
                kind = "string" if fdef.kind == "link" else fdef.kind
                filters.append(_typed_filter(param, raw, kind,
                                             tuple(fdef.filter_ops),
                                             fdef.allowed))
            else:
                raise errors.Invalid(
                    "Unknown filter %r; filters: %s." % (param, ", ".join(
                        list(COMMON_FILTERS) + sorted(declared))))
    scope = Scope(ctx.project_id, is_admin=ctx.is_admin,
                  visibility=visibility)
    return ListRequest(scope=scope, filters=filters, sort=_sort(args, types_),
                       limit=_limit(args, settings),
                       marker=args.get("marker"))


def links(path, args, page, limit, script_root=""):
    """``first`` and, when the page is full, ``next`` (relative URLs)."""
    params = [(k, v) for k in args for v in args.getlist(k)
              if k != "marker"]
    first = script_root + path + (
        "?" + urllib.parse.urlencode(params) if params else "")
    out = {"first": first}
    if page and limit and len(page) == limit:
        out["next"] = script_root + path + "?" + urllib.parse.urlencode(
            params + [("marker", page[-1]["id"])])
    return out
