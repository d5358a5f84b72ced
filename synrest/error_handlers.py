"""Turn every failure into an error envelope with `Content-Type: application/json`.

Used both by the Flask app (unknown routes, plain blueprints) and by `EnvelopeApi`, the
flask-restx `Api` whose `handle_error` answers with the same envelope instead of its own shape.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from flask import Flask, Response, current_app, request
from flask_restx import Api
from werkzeug.exceptions import HTTPException

from synrest.envelope import failure
from synrest.errors import ApiError

logger = logging.getLogger("synrest.errors")


def envelope_response(status: int, message: str, errors: dict[str, str] | None = None,
                      headers: dict[str, str] | None = None) -> Response:
    """A JSON response carrying the error envelope."""
    body = json.dumps(failure(status, message, errors))
    response = current_app.response_class(body, status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def api_error_response(error: ApiError) -> Response:
    """Answer an `ApiError` raised by a handler."""
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    log_server_error(error, request.method, request.path)
    return envelope_response(error.status, error.message, error.errors, headers)


def http_error_response(error: HTTPException) -> Response | HTTPException:
    """Answer a werkzeug HTTP error (404, 405, 400 malformed JSON, 413, 415, restx aborts)."""
    status = error.code
    if status is None or status < 400:  # redirects and other non-errors pass through
        return error
    data: Any = getattr(error, "data", None)
    errors = data.get("errors") if isinstance(data, dict) else None
    message = (data.get("message") if isinstance(data, dict) else None) or error.description
    headers: dict[str, str] = {}
    if status == 400 and isinstance(errors, dict) and errors:  # restx payload validation
        status = 422
        message = "invalid fields: " + ", ".join(sorted(str(key) for key in errors))
    elif status == 404:
        message = f"no resource at {request.path}"
    elif status == 405:
        allowed = sorted(getattr(error, "valid_methods", None) or [])
        message = f"method {request.method} is not allowed on {request.path}"
        if allowed:
            headers["Allow"] = ", ".join(allowed)
            message += f" (allowed: {', '.join(allowed)})"
    elif status == 413:
        limit = request.max_content_length
        message = "request body too large" + (f" (limit {limit} bytes)" if limit else "")
    elif status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return envelope_response(status, message or "request failed",
                             errors if isinstance(errors, dict) else None, headers)


def unexpected_error_response(error: Exception) -> Response:
    """Answer an unexpected exception: a generic 500 message, the detail only in the logs."""
    return envelope_response(500, log_unexpected_error(request.method, request.path, error))


def log_server_error(error: ApiError, method: str, path: str) -> None:
    """Log an `ApiError` answered with a 5xx status (a 4xx one is the caller's business)."""
    if error.status >= 500:
        logger.error("request failed: %s", error.message,
                     extra={"method": method, "route": path})


def log_unexpected_error(method: str, path: str, error: BaseException) -> str:
    """Log an unexpected exception under a fresh reference; returns the generic message that
    answers it (the detail stays in the logs)."""
    reference = uuid.uuid4().hex[:12]
    logger.error("unhandled error while serving %s %s (reference %s)", method, path,
                 reference, exc_info=error, extra={"error_reference": reference})
    return f"internal server error (reference {reference})"


def handle_any_error(error: BaseException) -> Response | HTTPException:
    """Dispatch on the kind of error; the single entry point for app and Api."""
    if isinstance(error, ApiError):
        return api_error_response(error)
    if isinstance(error, HTTPException):
        return http_error_response(error)
    if isinstance(error, Exception):
        return unexpected_error_response(error)
    raise error


class EnvelopeApi(Api):
    """A flask-restx Api whose errors are answered with the Synergos envelope."""

    def handle_error(self, e: Exception) -> Response | HTTPException:
        return handle_any_error(e)


def register_error_handlers(app: Flask) -> None:
    """Install the envelope handlers on a Flask app (for routes outside flask-restx)."""
    app.register_error_handler(ApiError, handle_any_error)
    app.register_error_handler(HTTPException, handle_any_error)
    app.register_error_handler(Exception, handle_any_error)
