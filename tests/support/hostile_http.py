"""Raw-socket tools for hostile-network tests: the malformed-request catalogue, an exchange
that reads every answer until the server closes, and a node's thread and descriptor counts."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from dataclasses import dataclass

import psutil

LOOPBACK = "127.0.0.1"
# a status line, also where it follows the previous answer's body without a line break
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})[ \r]")


@dataclass(frozen=True)
class Malformed:
    """One entry of the catalogue: a name and the raw bytes of a request built for a path,
    a method and the headers that carry (or not) a token."""

    name: str
    template: bytes  # {M} method, {P} path, {A} auth header line(s)

    def build(self, method: bytes, path: bytes, auth: bytes) -> bytes:
        """The raw request for `method` on `path` with `auth` header lines."""
        return (self.template.replace(b"{M}", method).replace(b"{P}", path)
                .replace(b"{A}", auth))


_HEAD = b"{M} {P} HTTP/1.1\r\nHost: x\r\n{A}"
CATALOGUE: tuple[Malformed, ...] = (
    Malformed("non-ascii digit length", _HEAD + "Content-Length: ²\r\n\r\nab".encode()),
    Malformed("latin-1 superscript length", _HEAD + b"Content-Length: \xb2\r\n\r\nab"),
    Malformed("arabic-indic digit length",
              _HEAD + "Content-Length: ٣\r\n\r\nabc".encode()),
    Malformed("negative length", _HEAD + b"Content-Length: -1\r\n\r\n"),
    Malformed("signed length", _HEAD + b"Content-Length: +3\r\n\r\nabc"),
    Malformed("list length", _HEAD + b"Content-Length: 3, 3\r\n\r\nabc"),
    Malformed("conflicting lengths",
              _HEAD + b"Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"),
    Malformed("repeated lengths",
              _HEAD + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
    Malformed("huge length", _HEAD + b"Content-Length: 99999999999999999999999\r\n\r\n"),
    Malformed("chunked and length (CL.TE smuggling)",
              _HEAD + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"0\r\n\r\nG"),
    Malformed("obfuscated transfer-encoding",
              _HEAD + b"Content-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
    Malformed("space before colon", _HEAD + b"Content-Length : 3\r\n\r\nabc"),
    Malformed("obsolete line folding",
              _HEAD + b"X-A: 1\r\n Content-Length: 3\r\n\r\nabc"),
    Malformed("NUL in a header value", _HEAD + b"X-A: a\x00b\r\nContent-Length: 0\r\n\r\n"),
    Malformed("NUL in the target", b"{M} {P}\x00x HTTP/1.1\r\nHost: x\r\n{A}\r\n"),
    Malformed("bare CR in a header", _HEAD + b"X-A: a\rContent-Length: 3\r\n\r\nabc"),
    Malformed("oversized header line", _HEAD + b"X-A: " + b"v" * 70_000 + b"\r\n\r\n"),
    Malformed("oversized request line", b"{M} {P}?" + b"q" * 70_000 + b" HTTP/1.1\r\n\r\n"),
    Malformed("too many headers",
              _HEAD + b"".join(b"X-%d: v\r\n" % index for index in range(300)) + b"\r\n"),
    Malformed("unknown version", b"{M} {P} HTTP/7.3\r\nHost: x\r\n{A}\r\n"),
    Malformed("garbage start line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
    Malformed("pipelined smuggled request",
              _HEAD + b"Content-Length: 0\r\n\r\n{M} {P} HTTP/1.1\r\nContent-Length: \xb2\r\n"
              b"Content-Length: 1\r\n\r\n"),
)


def exchange(port: int, raw: bytes, timeout: float = 10.0) -> tuple[list[int], bool]:
    """Send `raw` and read until the server closes or `timeout` passes: the status of every
    answer and whether the server closed the connection."""
    statuses: list[int] = []
    data = b""
    deadline = time.monotonic() + timeout
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # a server may refuse before reading it all
            sock.sendall(raw)
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return _statuses(data, statuses), False
            except ConnectionResetError:
                return _statuses(data, statuses), True
            if not chunk:
                return _statuses(data, statuses), True
            data += chunk
    return _statuses(data, statuses), False


def _statuses(data: bytes, statuses: list[int]) -> list[int]:
    """The status codes of the answers in `data` (a status line starts each answer)."""
    statuses.extend(int(status) for status in _STATUS_LINE.findall(data))
    return statuses


def resource_counts(pid: int) -> tuple[int, int]:
    """`(threads, open file descriptors)` of process `pid`."""
    process = psutil.Process(pid)
    return process.num_threads(), process.num_fds()


def wait_for_counts(pid: int, baseline: tuple[int, int], slack: int = 2,
                    timeout: float = 30.0) -> tuple[int, int]:
    """Poll until `pid`'s thread and descriptor counts are within `slack` of `baseline`;
    the last counts seen (the caller asserts on them)."""
    deadline = time.monotonic() + timeout
    counts = resource_counts(pid)
    while time.monotonic() < deadline:
        counts = resource_counts(pid)
        if counts[0] <= baseline[0] + slack and counts[1] <= baseline[1] + slack:
            return counts
        time.sleep(0.2)
    return counts
