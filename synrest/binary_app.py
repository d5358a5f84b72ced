"""`BinaryPortApp`: routes, bearer auth, body limit and error envelopes of a binary port.

A Worker's data port carries one kind of call, a POST of bytes answered with bytes, many
times a second, so its per-call CPU matters: this app and `synrest.binary_server` make the
checks a Flask app would, without Flask's request machinery (`docs/benchmarks.md`).
The contracts are those of the REST nodes: `GET /health` without a token, every other route
needs `Authorization: Bearer <token>`, unknown routes are 404 and wrong verbs 405 (neither
asks for a token), bodies over the limit 413, and every error is an envelope.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from synrest.access_log import log_access
from synrest.auth import check_bearer
from synrest.envelope import failure, success
from synrest.error_handlers import log_server_error, log_unexpected_error
from synrest.errors import ApiError
from synrest.head_rules import FramingError, body_length
from synrest.node_config import NodeConfig

BINARY = "application/octet-stream"
JSON = "application/json"


@dataclass(frozen=True)
class BinaryRequest:
    """One call a handler answers: the route's `params`, lower-cased `headers`, the `body`."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes | bytearray
    max_body_bytes: int


@dataclass(frozen=True)
class BinaryResponse:
    """What a handler (or the app) answers: status, body bytes, content type, extra headers."""

    status: int
    body: bytes
    content_type: str = BINARY
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def envelope(cls, body: dict[str, Any], status: int,
                 headers: tuple[tuple[str, str], ...] = ()) -> BinaryResponse:
        """A JSON envelope answer."""
        return cls(status, json.dumps(body).encode("utf-8"), JSON, headers)


Handler = Callable[[BinaryRequest], "BinaryResponse | tuple[dict[str, Any], int]"]


@dataclass(frozen=True)
class Route:
    """A path template such as `/data/<project_id>/<run_id>/fit` bound to a POST handler."""

    template: str
    endpoint: str
    handler: Handler
    segments: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.template.strip("/").split("/")))

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The template's values when `parts` (a path split on `/`) fits it, else None."""
        if len(parts) != len(self.segments):
            return None
        params = {}
        for pattern, part in zip(self.segments, parts, strict=True):
            if pattern.startswith("<") and pattern.endswith(">"):
                if not part:
                    return None
                params[pattern[1:-1]] = unquote(part)
            elif pattern != part:
                return None
        return params


@dataclass(frozen=True)
class Admission:
    """A request head that passed routing, auth and the body limit: it may send its body."""

    method: str
    path: str
    route: Route | None  # None: the health probe
    params: dict[str, str]
    headers: dict[str, str]
    length: int  # of the body to read


class BinaryPortApp:
    """The routes of one binary port and the checks every call passes before its handler."""

    def __init__(self, config: NodeConfig, token: str | None, max_body_bytes: int) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be a positive number of bytes")
        self.config = config
        self.token = token
        self.max_body_bytes = int(max_body_bytes)
        self.routes: list[Route] = []

    def add_route(self, template: str, endpoint: str, handler: Handler) -> None:
        """Answer POSTs to `template` with `handler` (`endpoint` names it in envelopes)."""
        self.routes.append(Route(template, endpoint, handler))

    def admit(self, method: str, target: str, headers: dict[str, str]
              ) -> Admission | BinaryResponse:
        """Check a request head; an `Admission`, or the error to answer without its body."""
        path = target.split("?", 1)[0]
        if path != "/" and path.endswith("/"):
            path = path[:-1]
        if path == "/health":
            if method != "GET":
                return _not_allowed(method, path, "GET")
            return self._with_length(Admission(method, path, None, {}, headers, 0), None)
        parts = path.lstrip("/").split("/")
        for route in self.routes:
            params = route.match(parts)
            if params is None:
                continue
            if method != "POST":
                return _not_allowed(method, path, "POST")
            try:
                if self.token is not None:
                    check_bearer(self.token, headers.get("authorization"))
            except ApiError as error:
                return error_response(error, f"{route.endpoint}.post", params)
            return self._with_length(Admission(method, path, route, params, headers, 0),
                                     f"{route.endpoint}.post")
        return BinaryResponse.envelope(failure(404, f"no resource at {path}", method=None,
                                               params={}), 404)

    def _with_length(self, admission: Admission, method: str | None
                     ) -> Admission | BinaryResponse:
        try:
            length = body_length(admission.headers, self.max_body_bytes)
        except FramingError as error:
            return BinaryResponse.envelope(failure(error.status, error.message, method=method,
                                                   params=admission.params), error.status)
        return replace(admission, length=length)

    def call(self, admission: Admission, body: bytes | bytearray) -> BinaryResponse:
        """Run the admitted request's handler; every failure becomes an error envelope.
        Each is one access line (DEBUG), as on the REST ports."""
        started = time.perf_counter()
        response = self._answer(admission, body)
        log_access(admission.method, admission.path, response.status, started)
        return response

    def _answer(self, admission: Admission, body: bytes | bytearray) -> BinaryResponse:
        route = admission.route
        if route is None:
            return BinaryResponse.envelope(*success(200, "health.get", self.config.health(),
                                                    params={}))
        method = f"{route.endpoint}.post"
        request = BinaryRequest(admission.method, admission.path, admission.params,
                                admission.headers, body, self.max_body_bytes)
        try:
            answer = route.handler(request)
        except ApiError as error:
            return error_response(error, method, admission.params, admission.path)
        except Exception as error:
            message = log_unexpected_error(admission.method, admission.path, error)
            return BinaryResponse.envelope(
                failure(500, message, method=method, params=admission.params), 500)
        if isinstance(answer, BinaryResponse):
            return answer
        body_dict, status = answer
        return BinaryResponse.envelope(body_dict, status)


def error_response(error: ApiError, method: str | None, params: dict[str, str],
                   path: str = "") -> BinaryResponse:
    """The envelope answering `error` (401s carry `WWW-Authenticate: Bearer`)."""
    log_server_error(error, "POST", path)
    headers = (("WWW-Authenticate", "Bearer"),) if error.status == 401 else ()
    return BinaryResponse.envelope(failure(error.status, error.message, error.errors,
                                           method=method, params=params),
                                   error.status, headers)


def _not_allowed(method: str, path: str, allowed: str) -> BinaryResponse:
    message = f"method {method} is not allowed on {path} (allowed: {allowed})"
    return BinaryResponse.envelope(failure(405, message, method=None, params={}), 405,
                                   (("Allow", allowed),))
