"""`DataPortPool` against a real HTTP/1.1 server on loopback: keep-alive reuse, a connection
the server dropped while idle, timeouts, and bodies sent as they are."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from synergos_ttp.engine.data_connection import DataPortPool


class EchoServer(ThreadingHTTPServer):
    """Echoes POST bodies reversed; counts connections; `drop_after_answer` closes each
    connection right after its answer (while still announcing keep-alive)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.connections = 0
        self.drop_after_answer = False
        self.delay = 0.0
        self.seen: list[tuple[str, str | None, bytes]] = []


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EchoServer

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, self.headers.get("Authorization"), body))
        time.sleep(self.server.delay)
        answer = body[::-1]
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        if self.server.drop_after_answer:
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def serving(echo: EchoServer) -> Iterator[EchoServer]:
    """Serve `echo` on a thread until the caller is done; then stop and close it."""
    thread = threading.Thread(target=echo.serve_forever, daemon=True)
    thread.start()
    try:
        yield echo
    finally:
        echo.shutdown()
        echo.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[EchoServer]:
    yield from serving(EchoServer())


def call(pool: DataPortPool, body: bytes, timeout: float = 5.0) -> bytes:
    reply = pool.post("/data/p/e/r/fit", body, timeout=timeout)
    try:
        assert reply.status == 200 and reply.content_length == len(body)
        return reply.read()
    finally:
        reply.close()


def test_calls_reuse_one_keep_alive_connection(server: EchoServer) -> None:
    pool = DataPortPool("127.0.0.1", server.server_port, "secret", connect_timeout=2)
    assert [call(pool, b"abc"), call(pool, b"hello" * 1000)] == [b"cba", b"olleh" * 1000]
    assert server.connections == 1
    assert server.seen[0][:2] == ("/data/p/e/r/fit", "Bearer secret")
    pool.close()


def test_a_connection_the_worker_dropped_while_idle_is_replaced(server: EchoServer) -> None:
    server.drop_after_answer = True
    pool = DataPortPool("127.0.0.1", server.server_port, None, connect_timeout=2)
    assert call(pool, b"one") == b"eno"
    time.sleep(0.2)  # the server's close reaches the idle pooled connection
    assert call(pool, b"two") == b"owt"
    assert server.connections == 2
    assert server.seen[1][1] is None  # no token, no Authorization header
    pool.close()


def test_a_slow_answer_raises_timeout_and_the_next_call_works(server: EchoServer) -> None:
    pool = DataPortPool("127.0.0.1", server.server_port, None, connect_timeout=2)
    server.delay = 1.0
    with pytest.raises(TimeoutError):
        pool.post("/data/p/e/r/fit", b"late", timeout=0.2)
    server.delay = 0.0
    assert call(pool, b"ok") == b"ko"
    pool.close()


def test_a_reply_left_unread_does_not_go_back_to_the_pool(server: EchoServer) -> None:
    pool = DataPortPool("127.0.0.1", server.server_port, None, connect_timeout=2)
    reply = pool.post("/data/p/e/r/fit", b"x" * 100, timeout=5)
    assert reply.read(10) == b"x" * 10
    reply.close()
    assert call(pool, b"next") == b"txen"
    assert server.connections == 2
    pool.close()


def test_an_unreachable_worker_raises_oserror() -> None:
    pool = DataPortPool("127.0.0.1", 1, None, connect_timeout=1)
    with pytest.raises(ConnectionRefusedError):
        pool.post("/data/p/e/r/fit", b"x", timeout=1)


def test_a_small_body_leaves_with_its_headers_and_a_large_one_arrives_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from synergos_ttp.engine.data_connection import JOINED_BODY_LIMIT

    listener = socket.create_server(("127.0.0.1", 0))
    sent: list[bytes] = []
    real_sendall = socket.socket.sendall

    def recording_sendall(self: socket.socket, data: bytes, *flags: int) -> None:
        if self.getsockname() != listener.getsockname():  # the client's side only
            sent.append(bytes(data))
        real_sendall(self, data, *flags)

    def answer_twice() -> None:
        connection, _ = listener.accept()
        with connection:
            for _ in range(2):
                data = connection.recv(1 << 20)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += connection.recv(1 << 20)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                   % (len(body), body[::-1]))

    thread = threading.Thread(target=answer_twice, daemon=True)
    thread.start()
    monkeypatch.setattr(socket.socket, "sendall", recording_sendall)
    pool = DataPortPool("127.0.0.1", listener.getsockname()[1], "secret", connect_timeout=2)
    small, large = b"w" * 300, bytes(range(256)) * (2 * JOINED_BODY_LIMIT // 256)
    assert call(pool, small) == small[::-1]
    assert call(pool, large) == large[::-1]
    thread.join(timeout=5)
    pool.close()
    listener.close()
    assert len(sent) == 3 and sent[0].endswith(b"\r\n\r\n" + small)  # one send, joined
    assert sent[1].endswith(b"\r\n\r\n")  # the large body went from its own buffer
    assert len(sent[2]) == len(large)


def serve_once(answer: bytes) -> tuple[int, threading.Thread]:
    """A server that reads one request, writes `answer` verbatim and closes."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            connection.recv(1 << 16)
            connection.sendall(answer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"SSH-2.0-OpenSSH\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n",
])
def test_a_malformed_reply_raises_framing_error(answer: bytes) -> None:
    from synergos_ttp.engine.data_connection import FramingError

    port, thread = serve_once(answer)
    pool = DataPortPool("127.0.0.1", port, None, connect_timeout=2)
    with pytest.raises(FramingError):
        pool.post("/data/p/e/r/fit", b"x", timeout=5)
    thread.join(timeout=5)
    assert pool._idle == []


def test_a_reply_without_length_is_read_to_the_end_and_not_pooled() -> None:
    port, thread = serve_once(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
    pool = DataPortPool("127.0.0.1", port, None, connect_timeout=2)
    reply = pool.post("/data/p/e/r/fit", b"x", timeout=5)
    assert reply.content_length is None and reply.read() == b"until the end"
    reply.close()
    assert pool._idle == []
    thread.join(timeout=5)


def test_a_worker_closing_without_an_answer_or_mid_body_raises_connection_reset() -> None:
    port, thread = serve_once(b"")
    pool = DataPortPool("127.0.0.1", port, None, connect_timeout=2)
    with pytest.raises(ConnectionResetError):
        pool.post("/data/p/e/r/fit", b"x", timeout=5)
    port, thread = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    reply = DataPortPool("127.0.0.1", port, None, connect_timeout=2).post(
        "/data/p/e/r/fit", b"x", timeout=5)
    with pytest.raises(ConnectionResetError):
        reply.read()
    reply.close()
    thread.join(timeout=5)
