"""Reading request bodies, shared by both HTTP faces.

``body_chunks`` streams a WSGI request body in 1 MiB blocks, chunked or
with a Content-Length, and turns a body cut short (the client went away)
into a 400 instead of silently storing a truncated object.
``check_values`` refuses JSON values no database stores the same way.
"""

import math

from artifacts import errors

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


def check_values(value):
    """Refuse what no database stores the same way: NUL (PostgreSQL text
    cannot hold it), lone UTF-16 surrogates (``"\\ud800"`` is valid JSON
    but not encodable text) and non-finite numbers."""
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
        for key, item in value.items():
            check_values(key)
            check_values(item)
    elif isinstance(value, list):
        for item in value:
            check_values(item)
    elif isinstance(value, float) and not math.isfinite(value):
        raise errors.Invalid("Numbers must be finite.")
