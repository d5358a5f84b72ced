"""`BinaryPortServer`: serves a `BinaryPortApp` over HTTP/1.1 on its own sockets.

One thread per connection reads a request, runs its handler and writes the answer, with no
hand-off between threads: a TTP keeps one connection per Worker open for a whole training,
and every round is one request on it. Heads are read with `synrest.http_framing` (strict,
bounded); bodies are refused before they are read when the route, the token or the size is
wrong. It has the interface `synrest.server.NodeServer` drives (`prepare`, `serve`, `stop`,
`bind_addr`), TLS included, and a stop that lets requests in flight finish. The limits on
peers (connection caps, head and body deadlines) are `synrest.port_guard`'s; every error
answer closes its connection, and nothing a peer sends reaches the log as a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO

from synrest.binary_app import Admission, BinaryPortApp, BinaryResponse, framing_error_response
from synrest.http_framing import (
    JOINED_BODY_LIMIT,
    FramingError,
    HttpDate,
    body_length,
    read_body,
    read_head,
)
from synrest.port_guard import PortGuard, PortLimits, Slot

_DISCARD_BYTES = 64 * 1024 * 1024  # read (and drop) at most this much of a refused body
_DISCARD_SECONDS = 5.0
_ACCEPT_POLL = 0.5

access_logger = logging.getLogger("synrest.access")
logger = logging.getLogger("synrest.server")


def server_tls_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or newer) for `cert` and `key`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


class BinaryPortServer:
    """Serve `app` on `host:port`, one thread per admitted connection (within `limits`)."""

    def __init__(self, app: BinaryPortApp, host: str, port: int,
                 tls_context: ssl.SSLContext | None = None,
                 limits: PortLimits | None = None,
                 shutdown_timeout: float = 30.0) -> None:
        self.app = app
        self.host, self.port = host, int(port)
        self.tls_context = tls_context
        self.limits = limits or PortLimits()
        self.guard = PortGuard(self.limits)
        self.shutdown_timeout = shutdown_timeout
        self._listener: socket.socket | None = None
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._date = HttpDate()

    @property
    def bind_addr(self) -> tuple[str, int]:
        """The bound `(host, port)` (the real port once prepared)."""
        if self._listener is not None:
            host, port = self._listener.getsockname()[:2]
            return host, port
        return self.host, self.port

    def prepare(self) -> None:
        """Bind and listen; raises `OSError` when the port is taken."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host.strip("[]"), self.port))
            listener.listen(128)
            listener.settimeout(_ACCEPT_POLL)
        except OSError:
            listener.close()
            raise
        self._listener = listener

    def serve(self) -> None:
        """Accept connections until `stop()`."""
        if self._listener is None:
            self.prepare()
        listener = self._listener
        assert listener is not None
        self.guard.start()
        while not self._stopping.is_set():
            try:
                sock, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError as error:
                if self._stopping.is_set():
                    break
                # e.g. EMFILE: out of descriptors for a moment; refuse nobody for good
                logger.warning("accepting a connection failed: %s", error)
                self._stopping.wait(_ACCEPT_POLL)
                continue
            self._start_connection(sock, str(peer[0]))

    def stop(self) -> None:
        """Stop accepting, close idle connections, let requests in flight finish (bounded)."""
        self._stopping.set()
        for slot in self.guard.slots():
            if not slot.busy:
                _shut(slot.sock)
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + self.shutdown_timeout
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0.0))
        self.guard.stop()
        if self._listener is not None:
            self._listener.close()

    # ----------------------------------------------------------------- connections
    def _start_connection(self, sock: socket.socket, peer: str) -> None:
        slot = self.guard.admit(sock, peer)
        if isinstance(slot, str):
            sock.settimeout(1.0)
            answer = framing_error_response(503, f"{slot}; try again shortly")
            try:
                if self.tls_context is None:
                    sock.sendall(self._head(answer, keep_alive=False) + answer.body)
            except OSError:
                pass
            sock.close()
            return
        thread = threading.Thread(target=self._serve_connection, args=(slot,),
                                  daemon=True, name="binary-port-connection")
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _serve_connection(self, slot: Slot) -> None:
        try:
            sock = slot.sock
            sock.settimeout(self.limits.idle_timeout)
            if self.tls_context is not None:
                sock = self.tls_context.wrap_socket(sock, server_side=True)
                slot.sock = sock
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            stream = sock.makefile("rb", buffering=256 * 1024)
            while not self._stopping.is_set() and self._answer_one(slot, stream):
                self.guard.phase(slot, "wait for the next request", self.limits.idle_timeout)
                if not stream.peek(1):
                    break
                self.guard.phase(slot, "request head", self.limits.head_timeout)
        except (OSError, EOFError, ssl.SSLError):
            pass  # the peer went away or overstayed a deadline
        except Exception:  # a bug must not leave a bare traceback or a leaked slot
            logger.exception("serving a connection from %s failed", slot.peer)
        finally:
            _shut(slot.sock)
            slot.sock.close()
            self.guard.release(slot)
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _answer_one(self, slot: Slot, stream: BinaryIO) -> bool:
        """Read one request and answer it; True when the connection stays open."""
        sock = slot.sock
        try:
            head = read_head(stream)
        except FramingError as error:
            if slot.reaped:  # the deadline passed (already logged); the socket is shut
                return False
            self.guard.refusals.refused(slot.peer, f"malformed request head ({error.status})")
            self._send(sock, framing_error_response(error.status, error.message), False)
            return False
        if head is None:
            return False
        slot.busy = True
        started = time.perf_counter()
        try:
            start_line, headers = head
            method, target, keep_alive = _request_line(start_line, headers)
        except FramingError as error:
            self.guard.refusals.refused(slot.peer, f"malformed request line ({error.status})")
            self._send(sock, framing_error_response(error.status, error.message), False)
            return False
        outcome = self.app.admit(method, target, headers)
        if isinstance(outcome, Admission):
            if headers.get("expect", "").lower() == "100-continue" and outcome.length:
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.guard.phase(slot, "request body", self.limits.body_seconds(outcome.length))
            body = read_body(stream, outcome.length)
            self.guard.phase(slot, "handler", None)
            response = self.app.call(outcome, body)
        else:
            response = outcome
            self.guard.refusals.refused(slot.peer, f"a request was answered {outcome.status}")
        # an error answer ends the connection: what follows a refused head cannot be trusted
        keep_alive = keep_alive and response.status < 400 and not self._stopping.is_set()
        self.guard.phase(slot, "response", self.limits.body_seconds(len(response.body)))
        self._send(sock, response, keep_alive)
        slot.busy = False
        if access_logger.isEnabledFor(logging.DEBUG):
            elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
            access_logger.debug("%s %s -> %s", method, target, response.status,
                                extra={"http_method": method, "route": target,
                                       "status": response.status, "duration_ms": elapsed_ms})
        if not keep_alive and not isinstance(outcome, Admission):
            _discard(sock, stream, _declared_length(headers))
        return keep_alive

    def _send(self, sock: socket.socket, response: BinaryResponse, keep_alive: bool) -> None:
        head = self._head(response, keep_alive)
        if len(response.body) <= JOINED_BODY_LIMIT:
            sock.sendall(head + response.body)
        else:
            sock.sendall(head)
            sock.sendall(memoryview(response.body))

    def _head(self, response: BinaryResponse, keep_alive: bool) -> bytes:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {response.status} {reason}",
                 f"Content-Type: {response.content_type}",
                 f"Content-Length: {len(response.body)}",
                 f"Date: {self._date.now()}", "Server: synergos"]
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        if not keep_alive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _request_line(start_line: bytes, headers: dict[str, str]) -> tuple[str, str, bool]:
    """`(method, target, keep_alive)` of a request line; `FramingError` when malformed."""
    parts = start_line.split(b" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1].startswith(b"/"):
        raise FramingError(400, "the request line must be 'METHOD /path HTTP/1.1'")
    version = parts[2]
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise FramingError(505, "only HTTP/1.1 (and 1.0) are spoken here")
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == b"HTTP/1.1" else connection == "keep-alive"
    return parts[0].decode("ascii"), parts[1].decode("latin-1"), keep_alive


def _declared_length(headers: dict[str, str]) -> int:
    """The announced body size (any unreadable announcement counts as a body)."""
    try:
        return body_length(headers)
    except FramingError:
        return _DISCARD_BYTES


def _discard(sock: socket.socket, stream: BinaryIO, length: int) -> None:
    """Read and drop what is left of a refused body (bounded), so that the caller, still
    sending it, reads our answer instead of a connection reset."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return
    deadline = time.monotonic() + _DISCARD_SECONDS
    remaining = min(length, _DISCARD_BYTES)
    chunk = bytearray(64 * 1024)
    try:
        while remaining > 0 and time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            count = stream.readinto(memoryview(chunk)[:min(remaining, len(chunk))])
            if not count:
                return
            remaining -= count
    except (OSError, ValueError):
        return


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
