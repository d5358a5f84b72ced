"""Keep-alive HTTP/1.1 connections to one Worker's data port, for the binary weight exchanges.

A data-port call is a POST of bytes with a bearer token and nothing more, so it goes through
`http.client` directly: requests' session machinery (cookies, hooks, proxies, adapters,
header merging) was a third of the TTP's CPU per round with 8 Workers (py-spy). Connections
are pooled per Worker; one that the Worker closed while it sat idle is noticed before reuse
and replaced. Small bodies (up to `JOINED_BODY_LIMIT`) leave in the same send as the headers;
larger ones are sent from the caller's buffer, never copied.
"""

from __future__ import annotations

import http.client
import select
import threading
from email.message import Message
from typing import Any

from synrest.server import JOINED_BODY_LIMIT

_MAX_IDLE = 8


class JoiningConnection(http.client.HTTPConnection):
    """An HTTPConnection that can send a request's headers and its body in one send
    (http.client sends them apart: two sends, and two wake-ups of the Worker, per call)."""

    _pending_body: bytes | None = None

    def end_headers_with(self, body: bytes) -> None:
        """End the headers and send them together with `body`."""
        self._pending_body = body
        try:
            self.endheaders()
        finally:
            self._pending_body = None

    def send(self, data: Any) -> None:
        """Send `data`, followed by the pending body, if any, in the same call."""
        body, self._pending_body = self._pending_body, None
        super().send(data if body is None else bytes(data) + body)


class DataReply:
    """One answer of the data port: `status`, `headers`, and the body (read it with
    `readinto`/`read`); `close()` gives the connection back when the body was read whole."""

    def __init__(self, pool: DataPortPool, connection: JoiningConnection,
                 response: http.client.HTTPResponse) -> None:
        self._pool = pool
        self._connection: JoiningConnection | None = connection
        self._response = response
        self.status = response.status
        self.reason = response.reason
        self.headers: Message = response.headers

    @property
    def content_length(self) -> int | None:
        """The announced body length, or None when the Worker sent none."""
        text = self.headers.get("Content-Length")
        return int(text) if text and text.isdigit() else None

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` with the next body bytes; 0 at the end."""
        return self._response.readinto(buffer)

    def read(self, size: int = -1) -> bytes:
        """Up to `size` body bytes (all that is left when negative)."""
        return self._response.read(None if size < 0 else size)

    def close(self) -> None:
        """Pool the connection when the whole body was read and it stays open, else close it."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        reusable = self._response.isclosed() and not self._response.will_close
        self._response.close()
        if reusable:
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
        self._headers = {"Content-Type": "application/octet-stream"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._idle: list[JoiningConnection] = []
        self._lock = threading.Lock()

    def post(self, path: str, body: bytes, timeout: float) -> DataReply:
        """POST `body` to `path` and return the answer once its status line and headers
        arrived (within `timeout` seconds). Raises `OSError` (`TimeoutError` included) or
        `http.client.HTTPException`; the caller must `close()` the reply."""
        connection = self._take()
        try:
            if connection.sock is None:
                connection.timeout = min(self.connect_timeout, timeout)
                connection.connect()
            connection.sock.settimeout(timeout)
            connection.putrequest("POST", path, skip_accept_encoding=True)
            for name, value in self._headers.items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            if len(body) <= JOINED_BODY_LIMIT:
                connection.end_headers_with(body)
            else:
                connection.endheaders()
                connection.sock.sendall(memoryview(body))
            response = connection.getresponse()
        except BaseException:
            connection.close()
            raise
        return DataReply(self, connection, response)

    def give_back(self, connection: JoiningConnection) -> None:
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

    def _take(self) -> JoiningConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return JoiningConnection(self.host, self.port, timeout=self.connect_timeout)
            if _still_open(connection):
                return connection
            connection.close()


def _still_open(connection: http.client.HTTPConnection) -> bool:
    """An idle keep-alive connection with bytes to read has been closed by the Worker."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False
