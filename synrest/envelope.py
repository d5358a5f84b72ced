"""The response envelope shared by every REST node."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

API_VERSION = "0.1.0"
Envelope = tuple[dict[str, Any], int]  # what a handler returns: (body, status)


def _current_params() -> dict[str, Any]:
    if has_request_context() and request.view_args:
        return dict(request.view_args)
    return {}


def success(status: int, method: str, data: Any, params: dict[str, Any] | None = None
            ) -> Envelope:
    """Return `(envelope, status)` for a successful call; `params` default to the route values."""
    if not 200 <= int(status) < 300:
        raise ValueError(f"a success envelope needs a 2xx status, got {status}")
    body = {
        "apiVersion": API_VERSION,
        "success": 1,
        "status": int(status),
        "method": method,
        "params": _current_params() if params is None else params,
        "data": data,
    }
    return body, int(status)


def failure(status: int, message: str, errors: dict[str, str] | None = None,
            method: str | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the error envelope: `success: 0`, a human-readable `message`, `data: null`."""
    body: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "success": 0,
        "status": int(status),
        "method": method if method is not None else _current_method(),
        "params": _current_params() if params is None else params,
        "data": None,
        "message": message,
    }
    if errors:
        body["errors"] = {str(field): str(problem) for field, problem in errors.items()}
    return body


def _current_method() -> str | None:
    """`<endpoint>.<verb>` of the matched route, or None when no route matched."""
    if not has_request_context() or request.endpoint is None:
        return None
    return f"{request.endpoint}.{request.method.lower()}"
