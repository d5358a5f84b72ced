"""`NodeServer` answers over real sockets: small, large, empty and streamed (chunked) answers
arrive whole and in order on a kept-alive connection."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
from flask import Flask, Response

from synrest.server import NodeServer

LARGE = bytes(range(256)) * 512  # 128 KiB: several writes


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
