"""Every port of a node is served by uvicorn (h11) on its own event loop: an idle, silent or
dribbling connection costs a socket, never a thread. `PortServer` serves any ASGI app;
`RestPortServer` a WSGI app on a2wsgi's thread pool (the REST ports); the data port's
`synrest.binary_server.BinaryPortServer` its ASGI adapter of a `BinaryPortApp`.

uvicorn's h11 protocol is kept, with the limits a hostile network needs added, per port
(`PortLimits`): a whole request head within `head_timeout` (from the accept or the previous
answer, however slowly its bytes dribble in), a body at a minimum rate, a total and a
per-address connection cap (a connection past one is answered 503 and closed), and refusals
logged once per peer and reason per minute. A `HeadGate` holds each request head back from
h11 until it passed `synrest.head_rules`, and `CloseOnError` closes the connection after
every 4xx or 5xx answer.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import h11
import uvicorn
from a2wsgi import WSGIMiddleware
from uvicorn.protocols.http.h11_impl import H11Protocol

from synrest.envelope import failure
from synrest.head_gate import MAX_HEAD_BYTES, HeadGate
from synrest.head_rules import FramingError
from synrest.port_guard import REST_LIMITS, PortLimits, RefusalLog

LISTEN_BACKLOG = 1024
# connections accepted per turn of a port's event loop: a flood of new connections (an
# attacker reopening refused ones) then delays the requests of open ones by a few
# accepts, not by a whole listen queue's
ACCEPT_BATCH = 16
LINGER_SECONDS = 5.0  # after an answer that closes, how long the rest of a request may come
LINGER_BYTES = 64 * 1024 * 1024  # and how much of it is read and dropped

WSGIApp = Callable[..., Any]
ASGIApp = Callable[..., Any]


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


class LingeringTransport:
    """The transport as uvicorn sees it, whose `close` lets the protocol drain what a peer
    is still sending first: a connection closed with unread bytes is reset, and the reset
    can destroy the answer (a 401 or 413) before the peer reads it."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedH11Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def close(self) -> None:
        self._protocol.close_after_answer()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a head deadline, a body rate, connection caps and
    rate-limited refusal logs. `limits` and `refusals` are set per port by `protocol_for`."""

    limits: PortLimits = REST_LIMITS
    refusals: RefusalLog
    per_peer: Counter[str]  # admitted connections per peer address
    admitted: list[int]  # admitted connections in all (one cell, shared by the port's)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else "?"
        self._admitted = False
        self._abort_later: asyncio.TimerHandle | None = None
        self._refused_at_accept = self._refuse_at_accept(transport)
        if self._refused_at_accept:
            return
        super().connection_made(transport)
        self._raw = transport
        self.transport = LingeringTransport(transport, self)  # type: ignore[assignment]
        self.lingering = False
        self._rest_expected = False  # a refused head may be followed by more of its request
        self._linger_left = LINGER_BYTES
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = ""
        self.gate = HeadGate()
        # refused connections are not counted: a burst of them must not fill the cap
        self._admitted = True
        self.admitted[0] += 1
        self.per_peer[self._peer] += 1
        self._arm("request head", self.limits.head_timeout)

    def _refuse_at_accept(self, transport: asyncio.Transport) -> bool:
        """Past a connection cap: answer 503 and close before any per-connection state is
        built (an attacker reopening refused connections makes this the common case)."""
        if self.admitted[0] >= self.limits.max_connections:
            reason = "too many connections"
        elif self.per_peer[self._peer] >= self.limits.max_per_peer:
            reason = "too many connections from this address"
        else:
            return False
        self.refusals.refused(self._peer, reason)
        transport.write(error_answer(503, reason))
        transport.close()
        if transport.get_extra_info("sslcontext") is not None:  # see `_close_raw`
            self._abort_later = self.loop.call_later(LINGER_SECONDS, transport.abort)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self._abort_later is not None:
            self._abort_later.cancel()
        if self._refused_at_accept:  # nothing of uvicorn's was set up
            return
        self._disarm()
        if self._admitted:
            self._admitted = False
            self.admitted[0] -= 1
            self.per_peer[self._peer] -= 1
            if self.per_peer[self._peer] <= 0:
                del self.per_peer[self._peer]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:  # the rest of a request already answered: dropped
            self._linger_left -= len(data)
            if self._linger_left <= 0:
                self._close_raw()
            return
        was = self.gate.phase
        try:
            passed = self.gate.feed(data)
        except FramingError as error:
            self._answer_and_close(error.status, error.message, "a malformed request")
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
        self._arm("request head", self.limits.idle_timeout + self.limits.head_timeout)
        held = self.gate.next_request()
        if held:
            self.data_received(held)

    def pause_writing(self) -> None:
        """The peer stopped reading an answer: it must take more of it within `body_grace`."""
        super().pause_writing()
        self._arm("response", self.limits.body_grace)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._phase == "response":
            self._disarm()

    def send_400_response(self, msg: str) -> None:
        self.refusals.refused(self._peer, "a malformed request")
        super().send_400_response(msg)

    def close_after_answer(self) -> None:
        """Close; while a request's body may still be coming, first read and drop it (at
        most `LINGER_BYTES` within `LINGER_SECONDS`) so that the peer reads the answer."""
        if self.lingering or self._raw.is_closing():
            return
        if self.gate.phase != "body" and not self._rest_expected:
            self._close_raw()
            return
        self.lingering = True
        self._disarm()
        if self._raw.can_write_eof():
            self._raw.write_eof()
        self._raw.resume_reading()
        self._deadline = self.loop.call_later(LINGER_SECONDS, self._close_raw)

    def _close_raw(self) -> None:
        """Close the socket once what was written left; a TLS peer that never answers the
        close (its `close_notify`) is cut off after `LINGER_SECONDS`."""
        self._raw.close()
        if self._abort_later is None and self._raw.get_extra_info("sslcontext") is not None:
            self._abort_later = self.loop.call_later(LINGER_SECONDS, self._raw.abort)

    def _answer_and_close(self, status: int, message: str, reason: str | None = None) -> None:
        """Answer `status` with an error envelope and close, first draining what may follow
        of the request: a head the parser never saw. The refusal is logged as `reason`
        (default: `message`)."""
        self.refusals.refused(self._peer, reason or message)
        self._disarm()
        if self.conn.our_state is h11.IDLE:  # else mid-answer: nothing more can be said
            self.conn.send(h11.ConnectionClosed())
            self._raw.write(error_answer(status, message))
        self._rest_expected = True
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


@functools.lru_cache(maxsize=256)
def error_answer(status: int, message: str) -> bytes:
    """The bytes of an error envelope answer that closes its connection (rendered once: a
    flood of refused connections gets the same few answers)."""
    if status == 503:
        message = f"{message}; try again shortly"
    body = json.dumps(failure(status, message, method=None, params={})).encode()
    writer = h11.Connection(h11.SERVER)
    return b"".join(writer.send(event) or b"" for event in (
        h11.Response(status_code=status, reason=HTTPStatus(status).phrase, headers=[
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]),
        h11.Data(data=body), h11.EndOfMessage()))


def protocol_for(limits: PortLimits) -> type[GuardedH11Protocol]:
    """A protocol class with its own caps, counters and refusal log (one per port)."""
    return type("PortH11Protocol", (GuardedH11Protocol,),
                {"limits": limits, "refusals": RefusalLog(), "per_peer": Counter(),
                 "admitted": [0]})


class BatchedAcceptServer(uvicorn.Server):
    """uvicorn's server accepting at most `ACCEPT_BATCH` connections per turn of the event
    loop (asyncio takes its accept batch from the backlog it listens with), on a listen
    queue of `LISTEN_BACKLOG`."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        for sock in sockets or ():
            sock.listen(LISTEN_BACKLOG)  # asyncio listened again with the batch size


class PortServer:
    """One ASGI app on one port: uvicorn on a private event loop in a thread, within `limits`.

    It has the interface `synrest.server.NodeServer` drives: `prepare` binds, `serve` blocks
    until `stop`, and `bind_addr` is the bound address.
    """

    def __init__(self, app: ASGIApp, host: str, port: int, context: ssl.SSLContext | None,
                 shutdown_timeout: float, limits: PortLimits) -> None:
        self.bind_addr: tuple[str, int] = (host, port)
        self.limits = limits
        self._socket: socket.socket | None = None
        self._serving = False
        self._stopped = threading.Event()
        self._shutdown_timeout = shutdown_timeout
        config = uvicorn.Config(
            app, host=host, port=port, http=protocol_for(limits), interface="asgi3",
            lifespan="off", ws="none", log_config=None, access_log=False,
            server_header=False, date_header=True,
            # typed int by uvicorn, but scheduled with call_later, which takes float seconds
            timeout_keep_alive=limits.idle_timeout,  # type: ignore[arg-type]
            backlog=ACCEPT_BATCH, h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_graceful_shutdown=int(shutdown_timeout))
        config.load()
        config.ssl = context  # the node's TLS policy, shared with its other ports
        self._server = BatchedAcceptServer(config)

    def prepare(self) -> None:
        """Bind and listen (raises `OSError` if the port is taken)."""
        host, port = self.bind_addr
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named, so that asyncio turns Nagle off on every accepted socket: an
        # answer's head and body are separate writes, and Nagle would hold the body back
        # until the head's (delayed) acknowledgement, 40 ms a call
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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
        self._serving = True
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        finally:
            self._socket.close()
            self._stopped.set()

    def stop(self, wait: bool = True) -> None:
        """Stop accepting, let in-flight requests finish (bounded), close the rest; with
        `wait`, return once the port is closed (or the shutdown timeout passed)."""
        self._server.should_exit = True
        if wait and self._serving:
            self._stopped.wait(self._shutdown_timeout + 5.0)


class RestPortServer(PortServer):
    """A WSGI app (a REST port) on a2wsgi's pool of `numthreads` threads."""

    def __init__(self, app: WSGIApp, host: str, port: int, context: ssl.SSLContext | None,
                 numthreads: int, shutdown_timeout: float,
                 limits: PortLimits = REST_LIMITS) -> None:
        self.wsgi = WSGIMiddleware(app, workers=numthreads)
        super().__init__(CloseOnError(self.wsgi), host, port, context, shutdown_timeout,
                         limits)

    def stop(self, wait: bool = True) -> None:
        """Stop as every port does; once drained, end the pool's idle threads (a request
        still running keeps its thread until it returns)."""
        super().stop(wait)
        if wait:
            self.wsgi.executor.shutdown(wait=False)


logging.getLogger("uvicorn.error").setLevel(logging.ERROR)  # refusals go to `RefusalLog`
