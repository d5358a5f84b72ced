"""Keep-alive HTTP/1.1 connections to one Worker's data port, for the binary weight exchanges.

h11 frames and parses the messages; this module owns only the sockets, so that every read
waits at most until the call's deadline: an answer's status line and headers must arrive by
then however slowly they trickle in, and a fit reply is read with `DataReply.read_whole`,
whole by the deadline and within a size bound checked before a body byte is read. (urllib3's
read timeout bounds each read, not the call: a head trickling in keeps a call alive past it.)
Connections are pooled per Worker; one that the Worker closed while it sat idle is noticed
before reuse and replaced. A body up to `JOINED_BODY_LIMIT` leaves in the same send as the
request head; a larger one is sent from the caller's buffer, never copied. With an
`ssl.SSLContext` every socket is TLS, the Worker's certificate and hostname verified by the
context before the first request byte leaves. `DataPortPool.abort` ends the calls in flight
(a stopping TTP must not wait for a Worker's answer until the round deadline).
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
from typing import Any

import h11

from syncommon.hosts import url_host
from synrest.head_rules import FramingError

JOINED_BODY_LIMIT = 64 * 1024
MAX_REPLY_HEAD = 64 * 1024
_MAX_IDLE = 8
_RECEIVE_SIZE = 256 * 1024
_FIRST_GROWTH = 1024 * 1024

__all__ = ["JOINED_BODY_LIMIT", "DataConnection", "DataPortPool", "DataReply", "FramingError"]


class DataConnection:
    """One socket to a data port and the h11 state of the exchange on it."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.address = (host, port)
        self.tls = tls
        self.sock: socket.socket | None = None
        self.http = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_REPLY_HEAD)
        self.deadline: float | None = None  # every read waits at most until then
        self.ended = False  # the Worker closed its side

    def connect(self, timeout: float) -> None:
        """Open the socket (Nagle off: every request is one small write); with TLS, finish
        the handshake within `timeout` too (`ssl.SSLError` when verification fails)."""
        sock = socket.create_connection(self.address, timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=self.address[0])
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def next_event(self) -> Any:
        """The next h11 event of the answer, reading the socket (by `deadline`) as needed.
        `TimeoutError` at the deadline, `ConnectionResetError` when the Worker closed
        early, `FramingError` (502) for a malformed answer."""
        while True:
            try:
                event = self.http.next_event()
            except h11.RemoteProtocolError as error:
                if self.ended:
                    raise ConnectionResetError(f"the Worker closed the connection early: "
                                               f"{error}") from None
                raise FramingError(502, f"the reply is not well-formed HTTP/1.1: {error}"
                                   ) from None
            if event is not h11.NEED_DATA:
                return event
            self.http.receive_data(self._receive())

    def _receive(self) -> bytes:
        sock = self.sock
        if sock is None:
            raise ConnectionResetError("the connection is closed")
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the deadline passed")
            sock.settimeout(remaining)
        data = sock.recv(_RECEIVE_SIZE)
        self.ended = not data
        return data

    def still_open(self) -> bool:
        """False when the socket is gone, or the Worker closed it while it sat idle (an idle
        keep-alive connection with something to read has been closed by the other side)."""
        if self.sock is None:
            return False
        try:
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        """Close the socket (idempotent)."""
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()

    def abort(self) -> None:
        """Shut the socket down from another thread: a read blocked on it returns at once
        (as if the Worker had closed it). The owning call closes it."""
        sock = self.sock
        if sock is not None:
            # the plain socket's shutdown: a TLS socket's would drop its state mid-read
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class DataReply:
    """One answer of the data port: `status`, `reason`, lower-cased `headers`, and the body
    (`read` or `read_whole`); `close()` gives the connection back when the body was read
    whole and the Worker keeps it open."""

    def __init__(self, pool: DataPortPool, connection: DataConnection,
                 response: h11.Response) -> None:
        self._pool = pool
        self._connection: DataConnection | None = connection
        self.status = response.status_code
        self.reason = response.reason.decode("latin-1")
        self.headers = {name.decode("latin-1"): value.decode("latin-1")
                        for name, value in response.headers}
        if "transfer-encoding" in self.headers:
            raise FramingError(502, "the reply is chunked: the data port frames bodies by "
                                    "Content-Length")
        length = self.headers.get("content-length")
        self.content_length: int | None = None if length is None else int(length)
        self._pending = b""  # received body bytes not yet handed out
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        """Up to `size` body bytes (all that is left when negative)."""
        parts, wanted = [], size if size >= 0 else None
        while wanted is None or wanted > 0:
            chunk = self._next_chunk(wanted)
            if not chunk:
                break
            parts.append(chunk)
            if wanted is not None:
                wanted -= len(chunk)
        return b"".join(parts)

    def read_whole(self, deadline: float, limit: int) -> bytearray:
        """The whole body, in one buffer, by `deadline` (a monotonic time), else `TimeoutError`.

        An announced length over `limit` is refused before any body byte is read
        (`FramingError` 413), and the buffer grows as bytes arrive (at most twice what has
        arrived), so a sender cannot make the TTP allocate what it never sends."""
        if self.content_length is not None and self.content_length > limit:
            raise FramingError(413, f"the reply announces {self.content_length} bytes, more "
                                    f"than the {limit} this model's reply can take")
        connection = self._connection
        if connection is None:
            return bytearray()
        total = limit + 1 if self.content_length is None else self.content_length
        buffer, filled = bytearray(), 0
        connection.deadline = deadline
        try:
            while True:
                try:
                    chunk = self._next_chunk(None)
                except TimeoutError:
                    raise TimeoutError(f"the reply was still arriving at the deadline "
                                       f"({filled} of {total} bytes)") from None
                if not chunk:
                    break
                if filled + len(chunk) > limit:
                    raise FramingError(413, f"the reply is longer than the {limit} bytes "
                                            f"this model's reply can take")
                if filled + len(chunk) > len(buffer):
                    grown = max(2 * len(buffer), _FIRST_GROWTH, filled + len(chunk))
                    buffer.extend(bytes(min(total, grown) - len(buffer)))
                buffer[filled:filled + len(chunk)] = chunk
                filled += len(chunk)
        finally:
            connection.deadline = None
        del buffer[filled:]
        return buffer

    def _next_chunk(self, size: int | None) -> bytes:
        """The next body bytes (at most `size`); b"" at the end of the body."""
        if not self._pending:
            connection = self._connection
            if connection is None or self._ended:
                return b""
            event = connection.next_event()
            if isinstance(event, h11.Data):
                self._pending = event.data
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                self._ended = True
                return b""
            else:
                raise FramingError(502, f"unexpected {type(event).__name__} in the reply")
        if size is None or size >= len(self._pending):
            chunk, self._pending = self._pending, b""
        else:
            chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    def close(self) -> None:
        """Pool the connection when the whole body was read and it stays open, else close it."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        http = connection.http
        if self._ended and not self._pending and not connection.ended and (
                http.our_state is h11.DONE and http.their_state is h11.DONE):
            http.start_next_cycle()
            self._pool.give_back(connection)
        else:
            connection.close()


class DataPortPool:
    """Keep-alive connections to `host:port` sending binary POSTs with a bearer token (over
    TLS when given an `ssl.SSLContext`)."""

    def __init__(self, host: str, port: int, token: str | None,
                 connect_timeout: float, tls: ssl.SSLContext | None = None) -> None:
        self.host = host.strip("[]")
        self.tls = tls
        self.port = int(port)
        self.connect_timeout = connect_timeout
        self._headers = [("Host", f"{url_host(self.host)}:{self.port}"),
                         ("Content-Type", "application/octet-stream")]
        if token:
            self._headers.append(("Authorization", f"Bearer {token}"))
        self._idle: list[DataConnection] = []
        self._busy: set[DataConnection] = set()  # taken by a call (closed ones pruned)
        self._lock = threading.Lock()

    def post(self, path: str, body: bytes, timeout: float) -> DataReply:
        """POST `body` to `path` and return the answer once its status line and headers
        arrived, all within `timeout` seconds (a head trickling in is cut off then). Raises
        `OSError` (`TimeoutError` included) or `FramingError` for a malformed answer; the
        caller must `close()` the reply."""
        deadline = time.monotonic() + timeout
        connection = self._take()
        with self._lock:
            self._busy = {busy for busy in self._busy if busy.sock is not None}
            self._busy.add(connection)
        try:
            if connection.sock is None:
                connection.connect(min(self.connect_timeout, timeout))
            sock = connection.sock
            assert sock is not None
            sock.settimeout(timeout)
            http = connection.http
            head = http.send(h11.Request(method="POST", target=path, headers=[
                *self._headers, ("Content-Length", str(len(body)))]))
            pieces = (http.send_with_data_passthrough(h11.Data(data=body)) or []) if body else []
            http.send(h11.EndOfMessage())
            if len(body) <= JOINED_BODY_LIMIT:
                sock.sendall(b"".join([head or b"", *pieces]))
            else:
                sock.sendall(head or b"")
                for piece in pieces:
                    sock.sendall(memoryview(piece))
            connection.deadline = deadline
            try:
                event = connection.next_event()
                while isinstance(event, h11.InformationalResponse):
                    event = connection.next_event()
            finally:
                connection.deadline = None
            if isinstance(event, h11.ConnectionClosed):
                raise ConnectionResetError("the Worker closed the connection without answering")
            if not isinstance(event, h11.Response):
                raise FramingError(502, f"unexpected {type(event).__name__} instead of a reply")
            return DataReply(self, connection, event)
        except BaseException:
            connection.close()
            raise

    def give_back(self, connection: DataConnection) -> None:
        """Keep a connection whose last answer was read whole for the next call."""
        with self._lock:
            self._busy.discard(connection)
            if len(self._idle) < _MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def abort(self) -> None:
        """End every call in flight on this pool: each fails as if the Worker had closed its
        connection (an `OSError`), instead of waiting for its deadline."""
        with self._lock:
            busy = list(self._busy)
        for connection in busy:
            connection.abort()

    def _take(self) -> DataConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return DataConnection(self.host, self.port, self.tls)
            if connection.still_open():
                return connection
            connection.close()
