"""A REST port served by uvicorn (h11) on its own event loop, the WSGI app run by a2wsgi's
thread pool: an idle, silent or dribbling connection costs a socket, never a thread.

uvicorn's h11 protocol is kept, with the limits a hostile network needs added: a whole
request head within `head_timeout` (from the accept or the previous answer, however slowly
its bytes dribble in), a body at a minimum rate, a total and a per-address connection cap,
and refusals logged once per peer and reason per minute. `StrictFraming` answers the framing
h11 tolerates but the data port refuses (repeated or listed lengths, `Transfer-Encoding`)
with a 400, and closes the connection after every 4xx or 5xx answer.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections import Counter
from collections.abc import Callable
from typing import Any

import h11
import uvicorn
from a2wsgi import WSGIMiddleware
from uvicorn.protocols.http.h11_impl import H11Protocol

from synrest.http_framing import MAX_HEADERS, FramingError, body_length
from synrest.port_guard import PortLimits, RefusalLog

MAX_HEAD_BYTES = 64 * 1024  # a request line and headers together
KEEP_ALIVE_SECONDS = 5.0  # an idle kept-alive connection is closed after this long
LISTEN_BACKLOG = 1024
_REPEATABLE_NEVER = frozenset({b"content-length", b"transfer-encoding", b"host",
                               b"authorization", b"expect", b"connection"})
REST_LIMITS = PortLimits(max_connections=4096, max_per_peer=1024, head_timeout=10.0)

WSGIApp = Callable[..., Any]


class StrictFraming:
    """ASGI middleware: one plain `Content-Length` at most, no `Transfer-Encoding`, no repeated
    framing header, at most `MAX_HEADERS` header lines; every error answer closes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _framing_problem(scope["headers"])
        if problem is not None:
            status, message = problem
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": message.encode()})
            return

        async def closing_send(event: dict) -> None:
            if event["type"] == "http.response.start" and event["status"] >= 400:
                event = {**event, "headers": [*event.get("headers", []),
                                              (b"connection", b"close")]}
            await send(event)

        await self.app(scope, receive, closing_send)


def _framing_problem(headers: list[tuple[bytes, bytes]]) -> tuple[int, str] | None:
    """`(status, message)` for a head whose framing the data port would refuse, else None."""
    if len(headers) > MAX_HEADERS:
        return 431, f"more than {MAX_HEADERS} header lines"
    seen = Counter(name for name, _ in headers if name in _REPEATABLE_NEVER)
    repeated = [name.decode() for name, count in seen.items() if count > 1]
    if repeated:
        return 400, f"header {repeated[0]} is repeated"
    try:
        body_length({name.decode("latin-1"): value.decode("latin-1")
                     for name, value in headers})
    except FramingError as error:
        return error.status, error.message
    return None


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a head deadline, a body rate, connection caps and
    rate-limited refusal logs. `limits` and `refusals` are set per port by `protocol_for`."""

    limits: PortLimits = REST_LIMITS
    refusals: RefusalLog
    per_peer: Counter[str]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = ""
        self._peer = self.client[0] if self.client else "?"
        self.per_peer[self._peer] += 1
        if len(self.connections) > self.limits.max_connections:
            self._refuse("too many connections")
        elif self.per_peer[self._peer] > self.limits.max_per_peer:
            self._refuse("too many connections from this address")
        else:
            self._arm("request head", self.limits.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.per_peer[self._peer] -= 1
        if self.per_peer[self._peer] <= 0:
            del self.per_peer[self._peer]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._deadline is not None and self._phase == "request head" and (
                self.conn.their_state is not h11.IDLE):
            length = self._announced_length()
            if self.conn.their_state is h11.SEND_BODY and length:
                self._arm("request body", self.limits.body_seconds(length))
            else:
                self._disarm()
        elif self._phase == "request body" and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # the next head, however slowly it dribbles in, has a deadline too
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm("request head", KEEP_ALIVE_SECONDS + self.limits.head_timeout)

    def send_400_response(self, msg: str) -> None:
        self.refusals.refused(self._peer, "a malformed request")
        super().send_400_response(msg)

    def _announced_length(self) -> int:
        for name, value in self.headers or []:
            if name == b"content-length" and value.isdigit():
                return int(value)
        return 0

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._overdue)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._phase = None, ""

    def _overdue(self) -> None:
        self._refuse(f"the {self._phase} took too long")

    def _refuse(self, reason: str) -> None:
        self._deadline = None
        self.refusals.refused(self._peer, reason)
        self.transport.abort()


def protocol_for(limits: PortLimits) -> type[GuardedH11Protocol]:
    """A protocol class with its own caps, counters and refusal log (one per port)."""
    return type("PortH11Protocol", (GuardedH11Protocol,),
                {"limits": limits, "refusals": RefusalLog(), "per_peer": Counter()})


class RestPortServer:
    """One WSGI app on one port: uvicorn on a private event loop in a thread.

    It has the interface `synrest.server.NodeServer` drives: `prepare` binds, `serve` blocks
    until `stop`, and `bind_addr` is the bound address.
    """

    def __init__(self, app: WSGIApp, host: str, port: int, context: ssl.SSLContext | None,
                 numthreads: int, shutdown_timeout: float,
                 limits: PortLimits = REST_LIMITS) -> None:
        self.bind_addr: tuple[str, int] = (host, port)
        self._socket: socket.socket | None = None
        config = uvicorn.Config(
            StrictFraming(WSGIMiddleware(app, workers=numthreads)), host=host, port=port,
            http=protocol_for(limits), interface="asgi3", lifespan="off", ws="none",
            log_config=None, access_log=False, server_header=False, date_header=True,
            timeout_keep_alive=int(KEEP_ALIVE_SECONDS), backlog=LISTEN_BACKLOG,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            limit_concurrency=limits.max_connections,
            timeout_graceful_shutdown=int(shutdown_timeout))
        config.load()
        config.ssl = context  # the node's TLS policy, shared with its other ports
        self._server = uvicorn.Server(config)

    def prepare(self) -> None:
        """Bind and listen (raises `OSError` if the port is taken)."""
        host, port = self.bind_addr
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.listen(LISTEN_BACKLOG)
        sock.set_inheritable(False)
        self._socket = sock
        self.bind_addr = sock.getsockname()[:2]

    def serve(self) -> None:
        """Serve until `stop` (uvicorn installs no signal handler off the main thread)."""
        assert self._socket is not None, "prepare() first"
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        finally:
            self._socket.close()

    def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (bounded), close the rest."""
        self._server.should_exit = True


logging.getLogger("uvicorn.error").setLevel(logging.ERROR)  # refusals go to `RefusalLog`
