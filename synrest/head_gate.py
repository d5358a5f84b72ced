"""Holds a REST connection's bytes back from the HTTP parser until the request head they
start passed the data port's rules (`synrest.head_rules.read_head` and `body_length`).

h11 tolerates what the data port refuses (a listed or repeated `Content-Length`, folded
lines, any `HTTP/x.y`, one long header line arriving at once), and a front proxy that reads
such a head differently from the node is how requests are smuggled. The gate passes on one
request at a time: its head once complete and checked, then exactly its announced body;
bytes of a pipelined next request wait until the answer to this one is complete.
"""

from __future__ import annotations

import io
import re

from synrest.head_rules import FramingError, body_length, read_head

MAX_HEAD_BYTES = 64 * 1024  # a request line and headers together
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")


def checked_body_length(head: bytes) -> int:
    """The body length a complete `head` announces; `FramingError` if it breaks a rule."""
    parsed = read_head(io.BytesIO(head))
    if parsed is None:
        raise FramingError(400, "an empty request head")
    start, headers = parsed
    if len(start.split(b" ")) != 3:
        raise FramingError(400, "the request line must be 'METHOD /path HTTP/1.1'")
    version = start.rsplit(b" ", 1)[-1]
    if version not in _VERSIONS:
        raise FramingError(505, "only HTTP/1.0 and HTTP/1.1 are served")
    length = body_length(headers)
    if version == b"HTTP/1.1" and "host" not in headers:
        raise FramingError(400, "an HTTP/1.1 request needs a Host header")
    return length


class HeadGate:
    """Splits one connection's incoming bytes into what the parser may see now and what
    waits for the next request (see the module docstring)."""

    def __init__(self) -> None:
        self.phase = "head"  # "head", then "body", then "done" until `next_request`
        self.body_left = 0
        self._buffer = bytearray()

    def feed(self, data: bytes) -> bytes:
        """The part of `data` the parser may see now; `FramingError` for a malformed head."""
        if self.phase == "done":
            self._hold(data)
            return b""
        passed = bytearray()
        if self.phase == "head":
            self._buffer += data
            start = len(self._buffer) - len(self._buffer.lstrip(b"\r\n"))
            end = _HEAD_END.search(self._buffer, start)
            if end is None:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise FramingError(431, f"the request head is over {MAX_HEAD_BYTES} bytes")
                return b""
            head = bytes(self._buffer[start:end.end()])
            data = bytes(self._buffer[end.end():])
            self._buffer.clear()
            self.body_left = checked_body_length(head)
            passed += head
            self.phase = "body"
        taken = min(self.body_left, len(data))
        passed += data[:taken]
        self.body_left -= taken
        if self.body_left == 0:
            self.phase = "done"
            self._hold(data[taken:])
        return bytes(passed)

    def next_request(self) -> bytes:
        """Start the next request (its answer is complete): the bytes held for it."""
        held = bytes(self._buffer)
        self._buffer.clear()
        self.phase, self.body_left = "head", 0
        return held

    def _hold(self, data: bytes) -> None:
        if len(self._buffer) + len(data) > MAX_HEAD_BYTES:
            raise FramingError(431, "too many bytes pipelined behind an unanswered request")
        self._buffer += data
