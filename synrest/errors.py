"""Exceptions a handler raises to answer with an error envelope (any status, optional fields)."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as `{"success": 0, "status": status, "message": ..., "errors": ...}`."""

    default_status = 500
    default_message = "request failed"

    def __init__(self, status: int | None = None, message: str | None = None,
                 errors: dict[str, str] | None = None) -> None:
        self.status = int(status if status is not None else self.default_status)
        if not 400 <= self.status < 600:
            raise ValueError(f"an ApiError needs a 4xx/5xx status, got {self.status}")
        self.message = message or self.default_message
        self.errors = dict(errors) if errors else None
        super().__init__(self.message)


class BadRequest(ApiError):
    """400: the request cannot be understood (malformed body, bad query)."""

    default_status = 400
    default_message = "bad request"

    def __init__(self, message: str | None = None, errors: dict[str, str] | None = None) -> None:
        super().__init__(self.default_status, message, errors)


class Unauthorized(ApiError):
    """401: missing or wrong bearer token."""

    default_status = 401
    default_message = "missing or invalid bearer token"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(self.default_status, message)


class NotFound(ApiError):
    """404: the addressed record or resource does not exist."""

    default_status = 404
    default_message = "not found"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(self.default_status, message)


class Conflict(ApiError):
    """409: the request conflicts with the current state (e.g. a job already running)."""

    default_status = 409
    default_message = "conflict"

    def __init__(self, message: str | None = None, errors: dict[str, str] | None = None) -> None:
        super().__init__(self.default_status, message, errors)


class ValidationFailed(ApiError):
    """422: well-formed JSON whose fields are invalid; `errors` maps field -> problem."""

    default_status = 422
    default_message = "invalid fields"

    def __init__(self, errors: dict[str, str] | str | None = None,
                 message: str | None = None) -> None:
        if isinstance(errors, str):  # ValidationFailed("message") reads naturally too
            errors, message = None, errors
        if errors and message is None:
            message = "invalid fields: " + ", ".join(sorted(str(field) for field in errors))
        super().__init__(self.default_status, message, errors)
