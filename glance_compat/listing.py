"""GET /v2/images query parameters, parsed the way Glance parses them.

``parse(args, ctx, settings)`` returns a ``ListRequest`` the engine
understands (scope, filters, sort, limit, marker) or raises
``errors.Invalid`` with Glance's message.  Every parameter that is not a
known one becomes an exact-match property filter, as in Glance.
``links`` builds the ``first``/``next`` paths Glance returns.
"""

import dataclasses
import datetime
import urllib.parse

from artifacts import errors
from artifacts.db.query import Filter, Scope

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size",
             "id", "created_at", "updated_at")
SORT_KINDS = {"size": "integer", "created_at": "datetime",
              "updated_at": "datetime"}
MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")
VISIBILITIES = ("public", "private", "shared", "community", "all")
# Filters that accept ``in:a,b`` (and reject other operators).
IN_FIELDS = ("name", "id", "status", "container_format", "disk_format")
TIME_OPS = ("gt", "gte", "lt", "lte", "eq", "neq")
INT_PROPERTIES = ("min_ram", "min_disk", "size", "virtual_size")
POPPED = ("limit", "marker", "member_status", "tag", "sort", "sort_key",
          "sort_dir")


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
        raise errors.Invalid("limit param must be an integer")
    if limit < 0:
        raise errors.Invalid("limit param must be positive")
    return min(limit, settings.api_limit_max)


def _sort(args):
    sort = args.getlist("sort")
    keys, dirs = args.getlist("sort_key"), args.getlist("sort_dir")
    result = []
    if sort:
        if keys or dirs:
            raise errors.Invalid("Old and new sorting syntax cannot be "
                                 "combined")
        for item in ",".join(sort).split(","):
            key, _, direction = item.strip().partition(":")
            result.append((key.strip(), direction.strip() or "desc"))
    else:
        keys = keys or ["created_at"]
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise errors.Invalid("Number of sort dirs does not match the "
                                 "number of sort keys")
        dirs = dirs or ["desc"]
        if len(dirs) == 1:
            dirs = dirs * len(keys)
        result = list(zip(keys, dirs))
    for key, direction in result:
        if key not in SORT_KEYS:
            raise errors.Invalid("Invalid sort key: %s. It must be one of the "
                                 "following: %s." % (key,
                                                     ", ".join(SORT_KEYS)))
        if direction not in ("asc", "desc"):
            raise errors.Invalid("Invalid sort direction: %s" % direction)
    return [(k, d, SORT_KINDS.get(k, "string")) for k, d in result]


def _check_quotes(text):
    """Glance's rule for quotes in ``in:`` lists: a quote (not escaped with
    a backslash) opens only at the start of a value and closes only at its
    end, and every opened quote is closed."""
    quoted = False
    for i, ch in enumerate(text):
        if ch != '"' or (i and text[i - 1] == "\\"):
            continue
        if not quoted and i and text[i - 1] != ",":
            raise errors.Invalid("Invalid filter value %s. There is no comma "
                                 "before opening quotation mark." % text)
        if quoted and i + 1 < len(text) and text[i + 1] != ",":
            raise errors.Invalid("Invalid filter value %s. There is no comma "
                                 "after closing quotation mark." % text)
        quoted = not quoted
    if quoted:
        raise errors.Invalid("Invalid filter value %s. The quote is not "
                             "closed." % text)


def split_in_values(text):
    """``a,"b,c",d`` -> ['a', 'b,c', 'd'] (double quotes protect commas).

    As in Glance, a trailing comma adds no empty value and an empty list is
    empty; malformed quoting is a 400.
    """
    _check_quotes(text)
    values, i, n = [], 0, len(text)
    while i < n:
        if text[i] == '"':
            end = i + 1
            while text[end] != '"' or text[end - 1] == "\\":
                end += 1
            values.append(text[i + 1:end])
            i = end + 2                  # past the quote and its comma
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            values.append(text[i:end])
            i = end + 1
    return values


def _in_filter(key, raw):
    op, sep, rest = raw.partition(":")
    if not sep:
        return Filter(key, "eq", raw)
    if op != "in":
        raise errors.Invalid("Unable to filter by unknown operator '%s'."
                             % op)
    return Filter(key, "in", split_in_values(rest))


# The longest ISO 8601 time a client means ("2024-01-31T12:34:56.123456
# +05:30" and a few more fraction digits); longer is refused unparsed.
MAX_TIME_LENGTH = 64


def _parse_time(value):
    """A naive UTC datetime for an ISO 8601 time, or ValueError.

    Times whose UTC value falls outside years 1..9999 (year 1 at +14:00,
    year 9999 at -14:00) overflow Python's datetime: ValueError too, so
    they get Glance's 400 instead of a 500 (Glance itself answers 500).
    """
    if len(value) > MAX_TIME_LENGTH or not value.isascii():
        raise ValueError("not an ISO 8601 time")
    when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is not None:
        try:
            when = when.astimezone(datetime.timezone.utc)
        except OverflowError:
            raise ValueError("out of the calendar once in UTC")
        when = when.replace(tzinfo=None)
    return when


def _time_filter(key, raw):
    # As Glance: a whole ISO 8601 value means eq; otherwise "op:time", where
    # a bad time is reported before an unknown operator.
    bad_format = errors.Invalid('Bad "%s" query filter format. Use ISO 8601 '
                                'DateTime notation.' % key)
    try:
        op, when = "eq", _parse_time(raw)
    except ValueError:
        op, sep, value = raw.partition(":")
        if not sep:
            raise bad_format
        try:
            when = _parse_time(value)
        except ValueError:
            raise bad_format
    if op not in TIME_OPS:
        raise errors.Invalid("Unable to filter on a unknown operator.")
    return Filter(key, op, when, "datetime")


def _bool_filter(key, raw, column, ignore_case=False):
    # Glance lower-cases os_hidden but compares protected as given.
    value = raw.lower() if ignore_case else raw
    if value not in ("true", "false"):
        raise errors.Invalid("Invalid value '%s' for '%s' filter. Valid "
                             "values are 'true' or 'false'." % (value, key))
    return Filter(column, "eq", value == "true", "boolean")


INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1


def _int_value(raw, message):
    try:
        value = int(raw)
    except ValueError:
        raise errors.Invalid(message)
    if not INT64_MIN <= value <= INT64_MAX:
        raise errors.Invalid("Integer filter value %s is out of range "
                             "(-2^63 .. 2^63-1)." % raw)
    return value


def parse(args, ctx, settings):
    """``args`` is a werkzeug MultiDict of the query string."""
    limit = _limit(args, settings)
    member_status = args.get("member_status", "accepted")
    if member_status not in MEMBER_STATUSES:
        raise errors.Invalid("Invalid status: %s" % member_status)
    sort = _sort(args)
    visibility = None
    filters = [Filter("tag", "eq", t.strip(), "tag")
               for t in args.getlist("tag")]
    hidden_seen = False
    for key in args:
        if key in POPPED:
            continue
        raw = args.getlist(key)[-1]
        if key == "visibility":
            if raw not in VISIBILITIES:
                raise errors.Invalid("Invalid visibility value: %s" % raw)
            visibility = raw
        elif key == "os_hidden":
            hidden_seen = True
            filters.append(_bool_filter(key, raw, "hidden",
                                        ignore_case=True))
        elif key == "protected":
            filters.append(_bool_filter(key, raw, "protected"))
        elif key in IN_FIELDS:
            filters.append(_in_filter(key, raw))
        elif key in ("created_at", "updated_at"):
            filters.append(_time_filter(key, raw))
        elif key == "changes-since":
            raise errors.Invalid('The "changes-since" filter is no longer '
                                 'available on v2.')
        elif key.endswith("_min") or key.endswith("_max"):
            field = key[:-4]
            value = _int_value(raw, "Unable to filter on a range with a "
                                    "non-numeric value.")
            if field in INT_PROPERTIES:
                filters.append(Filter(field, "gte" if key.endswith("_min")
                                      else "lte", value, "integer"))
            else:
                # Glance answers 500 here (any *_min is taken for a column);
                # a plain property match on the whole key is the safe reading.
                filters.append(Filter(key, "eq", raw))
        elif key in INT_PROPERTIES:
            filters.append(Filter(key, "eq", _int_value(
                raw, "Invalid value '%s' for '%s' filter." % (raw, key)),
                "integer"))
        elif key == "owner":
            filters.append(Filter("owner", "eq", raw or None))
        else:
            filters.append(Filter(key, "eq", raw))
    if not hidden_seen:
        filters.append(Filter("hidden", "eq", False, "boolean"))
    scope = Scope(project_id=ctx.project_id, is_admin=ctx.is_admin,
                  visibility=visibility, member_status=member_status)
    return ListRequest(scope, filters, sort, limit, args.get("marker"))


def links(args, images, limit):
    """(first, next or None) as Glance builds them (relative, /v2/...)."""
    params = [(k, v) for k, v in args.items(multi=True) if k != "marker"]
    first = "/v2/images"
    if params:
        first += "?" + urllib.parse.urlencode(params)
    nxt = None
    if images and len(images) == limit:
        nxt = "/v2/images?" + urllib.parse.urlencode(
            params + [("marker", images[-1]["id"])])
    return first, nxt
