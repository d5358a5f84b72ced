"""Keep-alive HTTP/1.1 connections to one Worker's data port, for the binary weight exchanges.

A data-port call is a POST of bytes with a bearer token, answered with a `Content-Length`
body, so it is written and read here directly on a socket with `synrest.http_framing`:
`requests` cost a third of the TTP's CPU per round with 8 Workers, and `http.client`'s
header parsing still 0.15 ms a call on the TTP's one interpreter lock. Connections are
pooled per Worker; one that the Worker closed while it sat idle is noticed before reuse and
replaced. A body up to `JOINED_BODY_LIMIT` leaves in the same send as the request head;
a larger one is sent from the caller's buffer, never copied. A fit reply is read with
`DataReply.read_whole`: whole by a deadline, within a size bound checked before reading.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Any, BinaryIO

from synrest.http_framing import JOINED_BODY_LIMIT, FramingError, body_length, read_head

_MAX_IDLE = 8
_STREAM_BUFFER = 256 * 1024
_FIRST_GROWTH = 1024 * 1024

__all__ = ["JOINED_BODY_LIMIT", "DataConnection", "DataPortPool", "DataReply", "FramingError"]


class DataConnection:
    """One socket to a data port and the buffered reader of its answers."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.stream: BinaryIO | None = None

    def connect(self, timeout: float) -> None:
        """Open the socket (Nagle off: every request is one small write)."""
        sock = socket.create_connection(self.address, timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.stream = sock, sock.makefile("rb", buffering=_STREAM_BUFFER)

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
        sock, stream, self.sock, self.stream = self.sock, self.stream, None, None
        if stream is not None:
            stream.close()
        if sock is not None:
            sock.close()


class DataReply:
    """One answer of the data port: `status`, `reason`, lower-cased `headers`, and the body
    (read it with `readinto`/`read`); `close()` gives the connection back when the body was
    read whole."""

    def __init__(self, pool: DataPortPool, connection: DataConnection, status: int,
                 reason: str, headers: dict[str, str]) -> None:
        self._pool = pool
        self._connection: DataConnection | None = connection
        self.status, self.reason, self.headers = status, reason, headers
        if "transfer-encoding" in headers:
            raise FramingError(502, "the reply is chunked: the data port frames bodies by "
                                    "Content-Length")
        self.content_length: int | None = (body_length(headers)
                                           if "content-length" in headers else None)
        self._left = self.content_length
        self._closes = headers.get("connection", "").lower() == "close" or self._left is None

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` with the next body bytes; 0 at the end."""
        connection = self._connection
        if connection is None or connection.stream is None or self._left == 0:
            return 0
        view = memoryview(buffer).cast("B")
        if self._left is not None:
            view = view[:self._left]
        count = connection.stream.readinto(view) or 0
        if self._left is not None:
            if not count:
                raise ConnectionResetError(f"the reply ended {self._left} bytes early")
            self._left -= count
        return count

    def read(self, size: int = -1) -> bytes:
        """Up to `size` body bytes (all that is left when negative)."""
        connection = self._connection
        if connection is None or connection.stream is None or self._left == 0:
            return b""
        if self._left is None:
            return connection.stream.read(None if size < 0 else size) or b""
        wanted = self._left if size < 0 else min(size, self._left)
        data = connection.stream.read(wanted) or b""
        if len(data) < wanted and size < 0:
            raise ConnectionResetError(f"the reply ended {wanted - len(data)} bytes early")
        self._left -= len(data)
        return data

    def read_whole(self, deadline: float, limit: int) -> bytearray:
        """The whole body, in one buffer, by `deadline` (a monotonic time), else `TimeoutError`.

        An announced length over `limit` is refused before any body byte is read
        (`FramingError` 413), and the buffer grows as bytes arrive (at most twice what has
        arrived), so a sender cannot make the TTP allocate what it never sends. Every socket
        read waits at most until the deadline, so a trickling sender is cut off there."""
        if self.content_length is not None and self.content_length > limit:
            raise FramingError(413, f"the reply announces {self.content_length} bytes, more "
                                    f"than the {limit} this model's reply can take")
        connection = self._connection
        if connection is None or connection.stream is None or connection.sock is None:
            return bytearray()
        total = limit + 1 if self._left is None else self._left  # one more: too long
        buffer, filled = bytearray(), 0
        while filled < total:
            remaining = max(deadline - time.monotonic(), 0.001)
            if filled == len(buffer):
                buffer.extend(bytes(min(total, max(2 * filled, _FIRST_GROWTH)) - filled))
            connection.sock.settimeout(remaining)
            try:
                with memoryview(buffer) as view:
                    count = connection.stream.readinto1(view[filled:]) or 0
            except TimeoutError:
                count = None
            if count == 0:
                if self._left is None:
                    break
                raise ConnectionResetError(f"the reply ended {total - filled} bytes early")
            filled += count or 0
            if self._left is not None:
                self._left -= count or 0
            if count is None or (filled < total and time.monotonic() >= deadline):
                raise TimeoutError(f"the reply was still arriving at the deadline "
                                   f"({filled} of {total} bytes)")
        if filled > limit:
            raise FramingError(413, f"the reply is longer than the {limit} bytes this "
                                    f"model's reply can take")
        del buffer[filled:]
        return buffer

    def close(self) -> None:
        """Pool the connection when the whole body was read and it stays open, else close it."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._left == 0 and not self._closes:
            self._pool.give_back(connection)
        else:
            connection.close()


class DataPortPool:
    """Keep-alive connections to `host:port` sending binary POSTs with a bearer token."""

    def __init__(self, host: str, port: int, token: str | None,
                 connect_timeout: float) -> None:
        self.host = host.strip("[]")
        self.port = int(port)
        self.connect_timeout = connect_timeout
        shown = f"[{self.host}]" if ":" in self.host else self.host
        head = [f"Host: {shown}:{self.port}", "Content-Type: application/octet-stream"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        self._fixed_head = ("\r\n".join(head) + "\r\n").encode("latin-1")
        self._idle: list[DataConnection] = []
        self._lock = threading.Lock()

    def post(self, path: str, body: bytes, timeout: float) -> DataReply:
        """POST `body` to `path` and return the answer once its status line and headers
        arrived (within `timeout` seconds). Raises `OSError` (`TimeoutError` included) or
        `FramingError` for a malformed answer; the caller must `close()` the reply."""
        connection = self._take()
        try:
            if connection.sock is None:
                connection.connect(min(self.connect_timeout, timeout))
            sock, stream = connection.sock, connection.stream
            assert sock is not None and stream is not None
            sock.settimeout(timeout)
            head = (b"POST " + path.encode("ascii") + b" HTTP/1.1\r\n" + self._fixed_head
                    + b"Content-Length: %d\r\n\r\n" % len(body))
            if len(body) <= JOINED_BODY_LIMIT:
                sock.sendall(head + body)
            else:
                sock.sendall(head)
                sock.sendall(memoryview(body))
            status, reason, headers = _read_status_and_headers(stream)
            return DataReply(self, connection, status, reason, headers)
        except BaseException:
            connection.close()
            raise

    def give_back(self, connection: DataConnection) -> None:
        """Keep a connection whose last answer was read whole for the next call."""
        with self._lock:
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

    def _take(self) -> DataConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return DataConnection(self.host, self.port)
            if connection.still_open():
                return connection
            connection.close()


def _read_status_and_headers(stream: BinaryIO) -> tuple[int, str, dict[str, str]]:
    head = read_head(stream)
    if head is None:
        raise ConnectionResetError("the Worker closed the connection without answering")
    start_line, headers = head
    version, _, rest = start_line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise FramingError(502, "the reply does not start with an HTTP/1.x status line")
    return int(code), reason.decode("latin-1"), headers
