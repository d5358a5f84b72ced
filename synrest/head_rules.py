"""The rules a request head must pass on every port before the HTTP parser (h11) sees it.

Every port speaks a narrow dialect: a start line, at most `MAX_HEADERS` header lines of at
most `MAX_LINE` bytes, and a body framed by `Content-Length` only. h11 tolerates more (a
listed or repeated length, folded lines), and a front proxy that reads such a head otherwise
than the node is how requests are smuggled, so anything else is a `FramingError` carrying the
status to answer with, and the request is refused before a byte of its body is read.
"""

from __future__ import annotations

import re
from typing import BinaryIO

MAX_LINE = 8 * 1024
MAX_HEADERS = 64
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # any control byte but TAB


class FramingError(ValueError):
    """A message that breaks the rules; `status` is the answer a server gives (400, 411, 413,
    431, 501, 505) and a client's 502 for a malformed reply."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_head_line(line: bytes) -> None:
    """Refuse a start or header line (with its CRLF) that smuggling and injection attacks
    use: a control byte (NUL, a bare CR or LF) inside it, or a leading blank (obsolete line
    folding, which parsers disagree about). Shared by every port's request reader."""
    content = line[:-2] if line.endswith(b"\r\n") else line.rstrip(b"\n")
    if line[:1] in (b" ", b"\t"):
        raise FramingError(400, "a head line starts with a blank (line folding is refused)")
    if _CONTROL.search(content):
        raise FramingError(400, "a head line holds a control byte (NUL, CR or LF)")


def is_token(name: bytes) -> bool:
    """Whether `name` is a valid header name (an RFC 9110 token: no blanks, no separators)."""
    return bool(_TOKEN.match(name))


def read_head(stream: BinaryIO) -> tuple[bytes, dict[str, str]] | None:
    """Read a start line and its headers; None when `stream` ends before anything.

    Header names are lower-cased; a repeated header is a `FramingError` (no port needs one,
    and repeats are how framing attacks start).
    """
    start = stream.readline(MAX_LINE + 1)
    while start in (b"\r\n", b"\n"):  # RFC 9112 2.2: ignore empty lines before a request
        start = stream.readline(MAX_LINE + 1)
    if not start:
        return None
    if len(start) > MAX_LINE or not start.endswith(b"\n"):
        raise FramingError(431 if len(start) > MAX_LINE else 400,
                           "the start line is too long or unterminated")
    check_head_line(start)
    headers: dict[str, str] = {}
    while True:
        line = stream.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return start.rstrip(b"\r\n"), headers
        if not line.endswith(b"\n"):
            raise FramingError(431 if len(line) > MAX_LINE else 400,
                               "a header line is too long or the head ended early")
        if len(headers) >= MAX_HEADERS:
            raise FramingError(431, f"more than {MAX_HEADERS} header lines")
        check_head_line(line)
        name, colon, value = line.partition(b":")
        if not colon or not is_token(name):
            raise FramingError(400, "a header line is malformed")
        key = name.decode("ascii").lower()
        if key in headers:
            raise FramingError(400, f"header {key} is repeated")
        headers[key] = value.strip().decode("latin-1")


def body_length(headers: dict[str, str], limit: int | None = None) -> int:
    """The body size `headers` announce (0 when they announce none), checked against `limit`."""
    if "transfer-encoding" in headers:
        raise FramingError(411, "send the body with a Content-Length (no Transfer-Encoding)")
    text = headers.get("content-length")
    if text is None:
        return 0
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise FramingError(400, "Content-Length must be a number of bytes")
    length = int(text)
    if limit is not None and length > limit:
        raise FramingError(413, f"request body too large (limit {limit} bytes)")
    return length
