"""`NodeServer` answers over real sockets: a small answer's headers and body leave in one
write, and large, empty and streamed (chunked) answers still arrive whole."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator

import pytest
from cheroot.makefile import StreamWriter
from flask import Flask, Response

from synrest.server import JOINED_BODY_LIMIT, NodeServer

LARGE = bytes(range(256)) * (2 * JOINED_BODY_LIMIT // 256)


def build_app() -> Flask:
    app = Flask("writes")

    @app.get("/small")
    def small() -> Response:
        return Response(b"w" * 300, mimetype="application/octet-stream")

    @app.get("/large")
    def large() -> Response:
        return Response(LARGE, mimetype="application/octet-stream")

    @app.get("/empty")
    def empty() -> tuple[str, int]:
        return "", 204

    @app.get("/streamed")
    def streamed() -> Response:
        return Response((part for part in (b"one,", b"two,", b"three")),
                        mimetype="text/plain")

    return app


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = NodeServer([(build_app(), "127.0.0.1", 0)], numthreads=2)
    server.start()
    try:
        yield server.addresses[0][1]
    finally:
        server.stop()


def test_a_small_answer_leaves_in_one_socket_write(port: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[bytes] = []
    real_write = StreamWriter.write

    def counting_write(self: StreamWriter, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(self, data)

    monkeypatch.setattr(StreamWriter, "write", counting_write)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GET /small HTTP/1.1\r\nHost: test\r\n\r\n")
        answer = b""
        while not answer.endswith(b"w" * 300):
            answer += connection.recv(1 << 20)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 300" in head
    assert body == b"w" * 300
    assert writes == [answer]  # headers and body in one write (cheroot alone makes two)


@pytest.mark.parametrize(("path", "status", "body"), [
    ("/large", 200, LARGE), ("/empty", 204, b""), ("/streamed", 200, b"one,two,three")])
def test_other_answers_arrive_whole_on_a_kept_alive_connection(port: int, path: str,
                                                               status: int,
                                                               body: bytes) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        for _ in range(2):  # the second answer proves the first left the stream in order
            connection.request("GET", path)
            response = connection.getresponse()
            assert (response.status, response.read()) == (status, body)
    finally:
        connection.close()
