"""A REST port served by uvicorn (h11) on its own event loop, the WSGI app run by a2wsgi's
thread pool: an idle, silent or dribbling connection costs a socket, never a thread.

uvicorn's h11 protocol is kept, with the limits a hostile network needs added: a whole
request head within `head_timeout` (from the accept or the previous answer, however slowly
its bytes dribble in), a body at a minimum rate, a total and a per-address connection cap,
and refusals logged once per peer and reason per minute. A `HeadGate` holds each request
head back from h11 until it passed the data port's rules, and `CloseOnError` closes the
connection after every 4xx or 5xx answer.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import h11
import uvicorn
from a2wsgi import WSGIMiddleware
from uvicorn.protocols.http.h11_impl import H11Protocol

from synrest.head_gate import MAX_HEAD_BYTES, HeadGate
from synrest.http_framing import FramingError
from synrest.port_guard import PortLimits, RefusalLog

KEEP_ALIVE_SECONDS = 5.0  # an idle kept-alive connection is closed after this long
LISTEN_BACKLOG = 1024
REST_LIMITS = PortLimits(max_connections=4096, max_per_peer=1024, head_timeout=10.0)

WSGIApp = Callable[..., Any]


class CloseOnError:
    """ASGI middleware: every 4xx or 5xx answer closes its connection."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        async def closing_send(event: dict) -> None:
            if event["type"] == "http.response.start" and event["status"] >= 400:
                event = {**event, "headers": [*event.get("headers", []),
                                              (b"connection", b"close")]}
            await send(event)

        await self.app(scope, receive, closing_send)


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
        self.gate = HeadGate()
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
        was = self.gate.phase
        try:
            passed = self.gate.feed(data)
        except FramingError as error:
            self._answer_malformed(error)
            return
        if self.gate.phase != was and self._phase in ("request head", "request body"):
            if self.gate.phase == "body" and self.gate.body_left:
                self._arm("request body", self.limits.body_seconds(self.gate.body_left))
            elif self.gate.phase != "head":
                self._disarm()
        if passed:
            super().data_received(passed)
            if self.gate.phase == "done" and self.cycle is not None and (
                    self.cycle.response_complete):  # answered before its body was read
                self._next_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._next_request()

    def _next_request(self) -> None:
        """Once a request was read whole and answered, let the next one in."""
        if self.transport.is_closing() or self.gate.phase != "done":
            return
        # the next head, however slowly it dribbles in, has a deadline too
        self._arm("request head", KEEP_ALIVE_SECONDS + self.limits.head_timeout)
        held = self.gate.next_request()
        if held:
            self.data_received(held)

    def send_400_response(self, msg: str) -> None:
        self.refusals.refused(self._peer, "a malformed request")
        super().send_400_response(msg)

    def _answer_malformed(self, error: FramingError) -> None:
        """Answer `error.status` and close (the parser never saw the malformed head)."""
        self.refusals.refused(self._peer, "a malformed request")
        self._disarm()
        body = error.message.encode()
        try:
            output = b"".join(self.conn.send(event) or b"" for event in (
                h11.Response(status_code=error.status, reason=HTTPStatus(error.status).phrase,
                             headers=[
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")]),
                h11.Data(data=body), h11.EndOfMessage()))
        except h11.LocalProtocolError:  # mid-answer: nothing more can be said on it
            output = b""
        self.transport.write(output)
        self.transport.close()

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
            CloseOnError(WSGIMiddleware(app, workers=numthreads)), host=host, port=port,
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
