"""The core's error vocabulary.

Every failure the engine reports is one of these; each HTTP face renders them
in its own wire format (``glance_compat.errors`` renders them the way WebOb
renders Glance's exceptions).  ``message`` is the text a person reads, so it
must say what was wrong and, where possible, how to fix it.
"""


class ArtifactError(Exception):
    """Base class.  ``status`` is the HTTP status a face should use."""

    status = 500

    def __init__(self, message="", **headers):
        super().__init__(message)
        self.message = message
        self.headers = headers
        # Faces may show the message either as the whole explanation or as
        # a detail after their generic sentence for the status (WebOb's two
        # forms); the raiser says which one its message is.
        self.detail_form = False

    def as_detail(self):
        self.detail_form = True
        return self


class Invalid(ArtifactError):
    status = 400


class Unauthorized(ArtifactError):
    status = 401


class Forbidden(ArtifactError):
    status = 403


class NotFound(ArtifactError):
    status = 404


class MethodNotAllowed(ArtifactError):
    status = 405


class RequestTimeout(ArtifactError):
    """The client sent its request too slowly (408)."""

    status = 408


class Conflict(ArtifactError):
    status = 409


class Gone(ArtifactError):
    status = 410


class RequestTooLarge(ArtifactError):
    """Over a size cap or a quota (413)."""

    status = 413


QuotaExceeded = RequestTooLarge


class UnsupportedMediaType(ArtifactError):
    status = 415


class RangeNotSatisfiable(ArtifactError):
    status = 416


class StoreUnavailable(ArtifactError):
    status = 503


# Seconds a client is asked to wait (Retry-After) when the database is away.
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(ArtifactError):
    """The database cannot be reached right now (503 with Retry-After):
    the request did nothing and may be sent again."""

    status = 503

    def __init__(self, message="The database is unavailable; retry the "
                 "request in a few seconds."):
        super().__init__(message, Retry_After=str(RETRY_AFTER_SECONDS))
