"""Exceptions raised by the Synergos Driver; every one is a `SynergosError`."""

from __future__ import annotations

from typing import Any


class SynergosError(Exception):
    """Base class of every Driver error.

    Attributes: `status` (HTTP status code, or None when no response came back), `message`
    (human-readable), `errors` (field -> problem, for validation failures), `url` (the route
    called, when known) and `body` (the parsed error envelope, when there was one).
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        errors: dict[str, Any] | None = None,
        url: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or {}
        self.url = url
        self.body = body

    def __str__(self) -> str:
        text = self.message if self.status is None else f"[{self.status}] {self.message}"
        if self.errors:
            details = "; ".join(f"{field}: {problem}" for field, problem in self.errors.items())
            text = f"{text} ({details})"
        return text


class AuthenticationError(SynergosError):
    """The server refused the call: missing or wrong token (401) or not allowed (403)."""


class NotFoundError(SynergosError):
    """The record or route does not exist (404)."""


class ConflictError(SynergosError):
    """The call conflicts with the server's current state (409)."""


class ValidationError(SynergosError):
    """The server rejected the input (400, 413, 417 or 422); see `errors` for the fields."""


class ServerError(SynergosError):
    """The server failed while handling the call (5xx)."""


class InvalidResponseError(SynergosError):
    """The server answered with something that is not a Synergos JSON envelope."""


class UnreachableError(SynergosError, ConnectionError):
    """No HTTP answer: the host:port could not be reached (refused, DNS, TLS, connect timeout)."""


class ResponseTimeoutError(SynergosError, TimeoutError):
    """The server accepted the connection but did not answer within the request timeout."""


class JobFailedError(SynergosError):
    """A background job ended `failed`, `cancelled` or `interrupted`; `job` is its record."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.job_id = job.get("job_id")
        self.job_status = job.get("status")
        reason = job.get("error") or "no error message recorded"
        super().__init__(
            f"{job.get('kind', 'job')} job {self.job_id} ended {self.job_status}: {reason}"
        )


class JobTimeoutError(SynergosError, TimeoutError):
    """Waiting for a background job took longer than `timeout`; the job keeps running."""

    def __init__(self, job: dict[str, Any], timeout: float) -> None:
        self.job = job
        self.job_id = job.get("job_id")
        self.job_status = job.get("status")
        self.timeout = timeout
        super().__init__(
            f"job {self.job_id} still {self.job_status} after {timeout:g} s; it keeps running "
            f"on the server (wait again with driver.jobs.wait({self.job_id!r}))"
        )


_ERROR_BY_STATUS: dict[int, type[SynergosError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    417: ValidationError,
    422: ValidationError,
}


def error_class_for_status(status: int) -> type[SynergosError]:
    """Return the exception class that represents an HTTP error `status`."""
    if status in _ERROR_BY_STATUS:
        return _ERROR_BY_STATUS[status]
    if status >= 500:
        return ServerError
    return SynergosError
