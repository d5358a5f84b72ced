"""A REST port's limits over real sockets: a silent connection is cut at the head deadline,
a dribbled head too however many bytes it sends, a connection past the per-address cap is
closed at once, and a request within its deadline is answered."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from synrest.port_guard import PortLimits
from synrest.rest_server import RestPortServer
from tests.support.hostile_http import exchange

LIMITS = PortLimits(max_connections=64, max_per_peer=3, head_timeout=1.0)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    app = Flask("limits")

    @app.get("/health")
    def health() -> str:
        return "ok"

    server = RestPortServer(app, "127.0.0.1", 0, None, numthreads=2, shutdown_timeout=5,
                            limits=LIMITS)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server.bind_addr[1]
    finally:
        server.stop()
        thread.join(timeout=10)


def closed_within(sock: socket.socket, seconds: float, dribble: bytes = b"") -> float | None:
    """Seconds until the server closed `sock` (sending one byte of `dribble` every 0.1 s
    meanwhile), or None if it stayed open for `seconds`."""
    started = time.monotonic()
    sock.settimeout(0.1)
    for byte in dribble or b"\0" * int(seconds * 10):
        if dribble:
            try:
                sock.send(bytes([byte]))
            except OSError:
                return time.monotonic() - started
        try:
            if sock.recv(1024) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except ConnectionResetError:
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            return None
    return None


def test_a_silent_connection_is_cut_at_the_head_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        took = closed_within(sock, LIMITS.head_timeout + 5)
    assert took is not None and took >= LIMITS.head_timeout * 0.9, took


def test_a_dribbled_head_is_cut_at_the_head_deadline(port: int) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", port)) as sock:
        took = closed_within(sock, LIMITS.head_timeout + 5, dribble=head)
    assert took is not None and took >= LIMITS.head_timeout * 0.9, took


def test_a_connection_past_the_per_address_cap_is_closed_at_once(port: int) -> None:
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(LIMITS.max_per_peer)]
    try:
        for sock in held:  # each is admitted: it stays open until its deadline
            sock.settimeout(0.2)
            with pytest.raises(TimeoutError):
                sock.recv(1)
        with socket.create_connection(("127.0.0.1", port)) as extra:
            took = closed_within(extra, LIMITS.head_timeout / 2)
        assert took is not None, "a connection past the cap was kept"
    finally:
        for sock in held:
            sock.close()


def test_a_request_within_its_deadline_is_answered(port: int) -> None:
    statuses, closed = exchange(
        port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert statuses == [200] and closed
