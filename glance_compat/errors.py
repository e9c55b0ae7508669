"""Error responses rendered byte-for-byte the way Glance renders them.

Glance raises ``webob.exc`` HTTP exceptions and lets WebOb pick the body
format from the request's ``Accept`` header: ``text/plain`` when nothing
better is accepted (the default with no Accept header), a flat JSON object
``{"message", "code", "title"}`` for ``application/json`` and an HTML page
for ``text/html`` or ``*/*``.  Clients parse these bodies (glanceclient reads
``message`` out of JSON and strips tags out of HTML; Nova copies the text
into its own exceptions), so the simplest faithful renderer is WebOb itself:
this module builds the same ``webob.exc`` object Glance would have raised and
lets it render against the real request environ.

Two calling styles exist in Glance and both are reachable here:

* ``explanation=`` replaces the class's generic sentence
  (``404 Not Found\\n\\nNo image found with ID ...\\n\\n   ``);
* ``detail=`` keeps the generic sentence and appends the text after it
  (``409 Conflict\\n\\nThere was a conflict ...\\n\\n Property x already
  present.  ``).

405, 406, 415 and 501 use WebOb templates that print the request method,
Accept or Content-Type instead of an explanation, so for those only
``detail`` shows up (as it does in Glance).
"""

import http

import webob.exc

from glance_compat import usage as glance_usage

__all__ = ["error_response", "from_artifact_error", "flask_error_response",
           "GENERIC_500"]

#: The text Glance answers with when a controller raises something
#: unexpected (WebOb's stock 500 explanation).
GENERIC_500 = webob.exc.HTTPInternalServerError.explanation

# Statuses whose WebOb body template has no ${explanation}: an engine message
# must travel as ``detail`` to be visible at all.
_DETAIL_ONLY = frozenset([405, 406, 415, 501])


def _exception_class(status_code):
    """The webob.exc class for a status, or an ad-hoc one WebOb lacks."""
    cls = webob.exc.status_map.get(status_code)
    if cls is not None and issubclass(cls, webob.exc.HTTPError):
        return cls
    try:
        title = http.HTTPStatus(status_code).phrase
    except ValueError:
        title = "Error"
    base = (webob.exc.HTTPServerError if status_code >= 500
            else webob.exc.HTTPClientError)
    return type("HTTP%d" % status_code, (base,),
                {"code": status_code, "title": title, "explanation": ""})


def _normalise_headers(headers):
    """Accept a dict or a list of pairs; return a list of str pairs."""
    if not headers:
        return []
    items = headers.items() if hasattr(headers, "items") else headers
    return [(str(name), str(value)) for name, value in items]


def error_response(environ, status_code, explanation=None, detail=None,
                   headers=None, body_template=None):
    """Render an error exactly as Glance's WebOb exception would.

    Returns ``(status_line, headers, body)``: a WSGI status string, a list of
    ``(name, value)`` pairs that always includes ``Content-Type``, and the
    body bytes (empty for HEAD requests, as WebOb does).  ``body_template``
    is WebOb's escape hatch Glance uses once (task DELETE passes
    ``'${explanation}'`` so the 405 body is only the explanation).
    """
    cls = _exception_class(status_code)
    kwargs = {}
    if explanation is not None and explanation != "":
        # Passed as a keyword it becomes an instance attribute that shadows
        # the class's generic sentence, exactly like Glance's
        # ``HTTPNotFound(explanation=msg)``.
        kwargs["explanation"] = explanation
    exc = cls(detail=detail or None, headers=_normalise_headers(headers),
              body_template=body_template, **kwargs)
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"] = status
        captured["headers"] = list(response_headers)
        return lambda data: None

    # WebOb only reads the environ here (Accept, method, Content-Type for
    # templates); it never consumes the request body.
    body = b"".join(exc(environ, start_response))
    out_headers = captured["headers"]
    if not any(name.lower() == "content-type" for name, _ in out_headers):
        out_headers.append(("Content-Type", "text/plain; charset=UTF-8"))
    return captured["status"], out_headers, body


def _artifact_headers(exc):
    """HTTP headers carried by an ArtifactError's keyword arguments.

    Keyword names cannot contain '-', so ``Accept_Patch="..."`` stands for
    the ``Accept-Patch`` header.
    """
    return [(name.replace("_", "-"), value)
            for name, value in (getattr(exc, "headers", None) or {}).items()]


def from_artifact_error(environ, exc):
    """Render an ``artifacts.errors.ArtifactError`` the way Glance would.

    The message becomes WebOb's ``explanation`` (Glance's most common style).
    An exception with a true ``detail_form`` attribute is rendered in the
    other style (generic sentence, then the message), for the few places
    where Glance passes the text positionally.  For 405/406/415/501 the
    message can only be shown as ``detail``; a 405 with a message uses the
    explanation-only template, as Glance's task DELETE does.
    """
    status = getattr(exc, "status", 500)
    message = getattr(exc, "message", "") or ""
    # A quota Glance names (image_size_total, ...): Glance's 413 words.
    message = glance_usage.glance_message(getattr(exc, "quota", None)) \
        or message
    headers = _artifact_headers(exc)
    if status == 405 and message:
        return error_response(environ, status, explanation=message,
                              headers=headers, body_template="${explanation}")
    if status in _DETAIL_ONLY or getattr(exc, "detail_form", False):
        return error_response(environ, status, detail=message or None,
                              headers=headers)
    return error_response(environ, status, explanation=message or None,
                          headers=headers)


def flask_error_response(exc):
    """A Flask/Werkzeug ``Response`` for ``exc`` in the current request.

    Handles engine errors (``ArtifactError``), Werkzeug HTTP exceptions
    (routing 404/405 and friends, rendered with WebOb's generic text) and
    anything else as Glance's generic 500.
    """
    import flask
    from werkzeug.exceptions import HTTPException as WerkzeugHTTPException

    from artifacts import errors

    environ = flask.request.environ
    if isinstance(exc, errors.ArtifactError):
        status, headers, body = from_artifact_error(environ, exc)
    elif isinstance(exc, WerkzeugHTTPException) and exc.code:
        extra = []
        valid = getattr(exc, "valid_methods", None)
        if exc.code == 405 and valid:
            # Flask adds HEAD and OPTIONS to every route; Glance's reject
            # route lists only the methods it really routes.
            allowed = [m for m in valid if m not in ("HEAD", "OPTIONS")]
            extra.append(("Allow", ", ".join(allowed)))
        status, headers, body = error_response(environ, exc.code,
                                               headers=extra)
    else:
        status, headers, body = error_response(environ, 500)
    # Werkzeug recomputes Content-Length from the body; drop WebOb's copy so
    # the header is not sent twice.
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    return flask.Response(body, status=status, headers=headers)
