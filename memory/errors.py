"""One error hierarchy for the whole product; each error knows its HTTP status.

Domain code raises these; the CLI prints ``str(error)`` as a one-line message and exits
non-zero, the API maps them in one handler.
"""

from __future__ import annotations


class XmemError(Exception):
    """Base of every error Experiment Memory raises on purpose."""

    status_code = 500
    title = "Internal error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class InvalidQuery(XmemError):
    """A malformed search query or filter; ``position`` points at the offending character."""

    status_code = 400
    title = "Invalid query"

    def __init__(self, message: str, *, position: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.position = position


class InvalidConfig(XmemError):
    status_code = 400
    title = "Invalid configuration"


class NotFound(XmemError):
    status_code = 404
    title = "Not found"


class Unauthorized(XmemError):
    """No credentials, or credentials that are not valid."""

    status_code = 401
    title = "Unauthorized"


class Forbidden(XmemError):
    status_code = 403
    title = "Forbidden"


class Conflict(XmemError):
    status_code = 409
    title = "Conflict"


class SourceUnavailable(XmemError):
    """A source system (e.g. an MLflow tracking server) cannot be reached or answered wrongly."""

    status_code = 502
    title = "Source unavailable"


class BackendUnavailable(XmemError):
    """The graph store or the search index cannot be used right now."""

    status_code = 503
    title = "Backend unavailable"


class InvalidEvent(XmemError):
    """A pushed event (e.g. OpenLineage) that does not validate; the message names the JSON path."""

    status_code = 400
    title = "Invalid event"


class PayloadTooLarge(XmemError):
    status_code = 413
    title = "Payload too large"
