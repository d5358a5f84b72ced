"""`DataReply.read_whole`: a fit reply is read whole by the round deadline, within the size
bound, against a real socket server on loopback."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from synergos_ttp.engine.data_connection import DataPortPool, FramingError


def serve(head: bytes, body_chunks: list[bytes], pause: float = 0.0,
          stop: threading.Event | None = None) -> int:
    """A server that reads one request, writes `head`, then each chunk (`pause` apart, until
    `stop` is set or the client goes away); returns its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            connection.recv(1 << 16)
            try:
                connection.sendall(head)
                for chunk in body_chunks:
                    if stop is not None and stop.wait(pause):
                        return
                    connection.sendall(chunk)
            except OSError:
                return

    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1]


def reply_from(port: int):
    return DataPortPool("127.0.0.1", port, None, connect_timeout=2).post(
        "/data/p/e/r/fit", b"x", timeout=5)


def test_a_whole_body_arrives_in_one_buffer() -> None:
    body = bytes(range(256)) * (3 * 4096 + 7)  # several buffer growths
    port = serve(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body), [body])
    reply = reply_from(port)
    assert reply.read_whole(time.monotonic() + 10, len(body)) == body
    reply.close()


def test_a_huge_announced_body_is_refused_before_reading_it() -> None:
    port = serve(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (64 * 1024**3), [])
    reply = reply_from(port)
    with pytest.raises(FramingError, match="announces 68719476736 bytes"):
        reply.read_whole(time.monotonic() + 10, 1000)
    reply.close()


def test_a_body_without_length_longer_than_the_bound_is_refused() -> None:
    port = serve(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", [b"y" * 5000])
    reply = reply_from(port)
    with pytest.raises(FramingError, match="longer than the 1000 bytes"):
        reply.read_whole(time.monotonic() + 10, 1000)
    reply.close()


def test_a_trickling_body_is_cut_off_at_the_deadline() -> None:
    stop = threading.Event()
    port = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", [b"z"] * 1000,
                 pause=0.05, stop=stop)
    reply = reply_from(port)
    deadline = time.monotonic() + 0.5
    try:
        with pytest.raises(TimeoutError, match="still arriving at the deadline"):
            reply.read_whole(deadline, 2000)
        assert time.monotonic() < deadline + 2.0  # each read waits at most until the deadline
    finally:
        stop.set()
        reply.close()


def test_a_trickling_head_is_cut_off_at_the_call_deadline() -> None:
    stop = threading.Event()
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 1000 + b"\r\n\r\n"
    port = serve(b"", [bytes([byte]) for byte in head], pause=0.05, stop=stop)
    pool = DataPortPool("127.0.0.1", port, None, connect_timeout=2)
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            pool.post("/data/p/e/r/fit", b"x", timeout=0.5)  # each byte comes within 0.5 s
        assert time.monotonic() < started + 0.5 + 2.0
    finally:
        stop.set()
        pool.close()
