"""cheroot's HTTP request, made as strict as the data port: the head lines, the body framing
and the connection after an error answer follow `synrest.http_framing`'s rules.

cheroot accepts NUL and bare CR bytes, folded lines, negative and repeated lengths; a front
proxy that reads such a head differently from us is how requests are smuggled. Here every
head line passes `check_head_line`, `Content-Length` and `Transfer-Encoding` are read by
`body_length` (one plain length, no chunked bodies, never repeated), and any 4xx or 5xx
answer closes the connection.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from cheroot.server import HeaderReader, HTTPConnection, HTTPRequest

from synrest.http_framing import MAX_HEADERS, FramingError, body_length, check_head_line, is_token

_FRAMING_HEADERS = frozenset({b"Content-Length", b"Transfer-Encoding", b"Host",
                              b"Authorization", b"Expect", b"Connection"})


class _CheckedLines:
    """A request's head stream whose every line passes `check_head_line`, and every header
    line has a token for a name (a `ValueError`, which cheroot answers 400, otherwise)."""

    def __init__(self, stream: Any, headers: bool) -> None:
        self._stream = stream
        self._headers = headers

    def readline(self, size: int | None = None) -> bytes:
        """The next line, checked (without a size, cheroot reads it in bounded chunks)."""
        line = self._stream.readline() if size is None else self._stream.readline(size)
        try:
            check_head_line(line)
        except FramingError as error:
            raise ValueError(error.message) from None
        if self._headers and line not in (b"\r\n", b""):
            name, colon, _ = line.partition(b":")
            if not colon or not is_token(name):
                raise ValueError("a header line is malformed")
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _NoRepeats(dict):
    """Header dict that refuses a second framing header instead of overwriting the first."""

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if key in _FRAMING_HEADERS and key in self:
            raise ValueError(f"header {key.decode('latin-1')} is repeated")
        if key not in self and len(self) >= MAX_HEADERS:
            raise ValueError(f"more than {MAX_HEADERS} header lines")
        super().__setitem__(key, value)


class StrictHeaderReader(HeaderReader):
    """cheroot's header reader over checked lines, refusing repeated framing headers."""

    def __call__(self, rfile: Any, hdict: dict | None = None) -> dict:
        guarded = _NoRepeats()
        super().__call__(_CheckedLines(rfile, headers=True), guarded)
        target = {} if hdict is None else hdict
        target.update(guarded)
        return target


class StrictRequest(HTTPRequest):
    """An `HTTPRequest` with the data port's framing rules; errors close the connection."""

    header_reader = StrictHeaderReader()

    def read_request_line(self) -> bool:
        """Read the start line through `check_head_line`."""
        stream = self.rfile
        self.rfile = _CheckedLines(stream, headers=False)
        try:
            return super().read_request_line()
        except ValueError as error:
            self.simple_response("400 Bad Request", str(error))
            return False
        finally:
            self.rfile = stream

    def read_request_headers(self) -> bool:
        """cheroot's header reading, then the body framing checked as on the data port."""
        if not super().read_request_headers():
            return False
        headers = {key.decode("latin-1").lower(): value.decode("latin-1")
                   for key, value in self.inheaders.items()}
        try:
            body_length(headers)
        except FramingError as error:
            self.simple_response(f"{error.status} {HTTPStatus(error.status).phrase}",
                                 error.message)
            self.close_connection = True
            return False
        return True

    def send_headers(self) -> None:
        """Close the connection after any error answer."""
        if int(self.status[:3]) >= 400:
            self.close_connection = True
        super().send_headers()


class StrictConnection(HTTPConnection):
    """An `HTTPConnection` whose requests are `StrictRequest`s."""

    RequestHandlerClass = StrictRequest

