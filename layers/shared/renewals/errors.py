"""Typed domain errors; the JSON API maps each to its status code and error code in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base of errors a caller can act on. `message` is safe to show to the user."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class NotFound(DomainError):
    """The resource does not exist or belongs to someone else; both look the same to the caller."""

    status_code = 404
    code = "not_found"


class AlreadyRenewed(DomainError):
    status_code = 409
    code = "already_renewed"


class EmailSuppressed(DomainError):
    status_code = 422
    code = "email_suppressed"


class TooManyRequests(DomainError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "unavailable"
