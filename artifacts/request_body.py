"""Reading request bodies, shared by both HTTP faces.

``body_chunks`` streams a WSGI request body in 1 MiB blocks, chunked or
with a Content-Length, and turns a body cut short (the client went away)
into a 400 instead of silently storing a truncated object.
``parse_json`` is the one JSON reader of both faces: it refuses a document
nested deeper than ``MAX_JSON_DEPTH`` *before* parsing it (Python's json
recurses once per level and fails with RecursionError near 1000 levels,
which used to surface as a 500), then refuses values no database stores
the same way (``check_values``).
"""

import itertools
import json
import math
import re

from artifacts import errors
# The integers a request body may carry: what a SQL BIGINT holds.
from artifacts.types.schema import INT64_MAX, INT64_MIN

BLOCK = 1024 * 1024


class ClientDisconnected(errors.Invalid):
    """The client sent fewer bytes than it announced."""


def body_chunks(environ, content_length):
    """Blocks of the request body; ``content_length`` None means chunked."""
    stream = environ["wsgi.input"]
    remaining = content_length
    while remaining is None or remaining > 0:
        size = BLOCK if remaining is None else min(BLOCK, remaining)
        try:
            chunk = stream.read(size)
        except TimeoutError as exc:
            # The server cut off a body that arrived too slowly.
            raise errors.RequestTimeout(
                "The request body arrived too slowly (%s); the upload was "
                "discarded." % exc) from exc
        except Exception as exc:  # noqa: BLE001 - server-specific errors
            # gunicorn raises its own errors (NoMoreData, bad chunk) when a
            # chunked body is cut off: the client went away mid-upload.
            raise ClientDisconnected("The request body could not be read "
                                     "(%s); the upload was discarded."
                                     % type(exc).__name__) from exc
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk
    if remaining:
        raise ClientDisconnected(
            "The request body ended %d bytes before its Content-Length; the "
            "upload was discarded." % remaining)


# No real image record, patch or artifact nests anywhere near this deep; it
# stays far below Python's recursion limit for json and for every walk over
# the parsed value (check_values, marshmallow, jsonschema, json.dumps).
MAX_JSON_DEPTH = 64


class TooDeep(errors.Invalid):
    """A JSON document nested deeper than ``MAX_JSON_DEPTH``."""


# One token per match, scanned left to right: a complete string (skipped,
# brackets inside it do not count), an opening or closing bracket, or a
# lone quote (an unterminated string: the document is malformed, and the
# scan stops there so it stays linear).  The string alternative is
# possessive, so a failed match never backtracks.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*+"|[\[{]|[\]}]|"', re.DOTALL)
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text):
    """The deepest bracket nesting of the JSON ``text`` (str), ignoring
    brackets inside strings; stops early at an unterminated string."""
    steps = []
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == '"':
            break
        if len(token) == 1:
            steps.append(_DELTA[token])
    return max(itertools.accumulate(steps), default=0)


def check_depth(text, limit=MAX_JSON_DEPTH):
    """Raise ``TooDeep`` (400) when ``text`` nests deeper than ``limit``."""
    if nesting_depth(text) > limit:
        raise TooDeep("The JSON document is nested too deeply (more than "
                      "%d levels of lists and objects)." % limit)


def parse_json(data, malformed="Malformed JSON in request body.",
               **loads_kwargs):
    """The parsed JSON ``data`` (bytes or str), its depth bounded and its
    values checked; ``errors.Invalid(malformed)`` for what is not JSON.

    Bytes are decoded the way ``json.loads`` does (UTF-8/16/32 detected
    from the first bytes) so the depth scan sees the same characters the
    parser will.
    """
    try:
        if isinstance(data, (bytes, bytearray)):
            data = data.decode(json.detect_encoding(data), "surrogatepass")
        check_depth(data)
        value = json.loads(data, **loads_kwargs)
    except RecursionError:
        # Not reachable with the depth check; kept so a deep document can
        # never become a 500 whatever json does.
        raise TooDeep("The JSON document is nested too deeply.")
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise errors.Invalid(malformed)
    check_values(value)
    return value


def check_values(value, where=None):
    """Refuse what no database stores the same way: NUL (PostgreSQL text
    cannot hold it), lone UTF-16 surrogates (``"\\ud800"`` is valid JSON
    but not encodable text), non-finite numbers and integers outside the
    signed 64-bit range (no SQL integer column holds them, and turning one
    into a float overflows: a 400-digit ``minimum`` used to be a 500).

    ``where``: where ``value`` is in the document, as ``(parent's where,
    key or index)`` pairs (built as the walk descends, formatted only for
    an error): an out-of-range integer is named by its JSON Pointer, the
    same way in any body (``/min_disk`` of an image, ``/0/value`` of a
    JSON Patch, ``/properties/p/minimum`` of a metadef)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.Invalid("Null characters (\\u0000) are not allowed "
                                 "in strings.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise errors.Invalid("Strings must be valid Unicode text; lone "
                                 "surrogates (\\ud800-\\udfff) are not.")
    elif isinstance(value, dict):
        for name, item in value.items():
            check_values(name)
            check_values(item, (where, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_values(item, (where, index))
    elif isinstance(value, float) and not math.isfinite(value):
        raise errors.Invalid("Numbers must be finite.")
    elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise errors.Invalid(
            "Invalid value%s: integers must be between %d and %d."
            % (where and " at '%s'" % _pointer(where) or "", INT64_MIN,
               INT64_MAX))


def _pointer(where):
    """The JSON Pointer (RFC 6901) of a ``check_values`` location."""
    parts = []
    while where is not None:
        where, key = where
        parts.append("/" + str(key).replace("~", "~0").replace("/", "~1"))
    return "".join(reversed(parts))
