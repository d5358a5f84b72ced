"""`BinaryPortServer` (uvicorn + h11) + `BinaryPortApp` on a real loopback socket:
keep-alive, strict framing, bodies refused before they are read, the connection cap, idle
timeout and a graceful stop."""

from __future__ import annotations

import json
import logging
import select
import socket
import threading
import time
import weakref
from collections.abc import Iterator

import pytest
import requests

from synrest.binary_app import BinaryPortApp, BinaryRequest, BinaryResponse
from synrest.binary_server import BinaryPortServer
from synrest.node_config import NodeConfig
from synrest.port_guard import PortLimits

TOKEN = "binary-port-token-0123456789"
LIMIT = 1024
AUTH = f"Authorization: Bearer {TOKEN}\r\n".encode()


class Port:
    """A running server, the bodies its handler saw, and a way to talk to it raw."""

    def __init__(self, server: BinaryPortServer) -> None:
        self.server = server
        self.seen: list[bytes] = []
        self.delay = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.bind_addr[1]}"

    def connect(self, source: str = "127.0.0.1") -> socket.socket:
        """A connection from `source` (any 127.0.0.0/8 address reaches the loopback)."""
        return socket.create_connection(("127.0.0.1", self.server.bind_addr[1]), timeout=5,
                                        source_address=(source, 0))


# Bytes read past one answer (a pipelined next answer can arrive in the same recv).
_READ_AHEAD: weakref.WeakKeyDictionary[socket.socket, bytes] = weakref.WeakKeyDictionary()


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One answer off `sock`: status, lower-cased headers, body."""
    data = _READ_AHEAD.pop(sock, b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip()
               for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(body)} of {length} body bytes")
        body += chunk
    if len(body) > length:
        _READ_AHEAD[sock] = body[length:]
    return int(lines[0].split()[1]), headers, body[:length]


def request(path: str, body: bytes = b"", extra: bytes = AUTH, method: bytes = b"POST") -> bytes:
    return (method + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


@pytest.fixture
def port() -> Iterator[Port]:
    config = NodeConfig(role="worker", node_id="w1")
    app = BinaryPortApp(config, TOKEN, LIMIT)
    holder: dict[str, Port] = {}

    def echo(call: BinaryRequest) -> BinaryResponse:
        holder["port"].seen.append(bytes(call.body))
        time.sleep(holder["port"].delay)
        return BinaryResponse(200, bytes(call.body[::-1]) + call.params["name"].encode())

    app.add_route("/data/<name>/echo", "data.echo", echo)
    limits = PortLimits(max_connections=4, max_per_peer=2, idle_timeout=2.0, head_timeout=2.0,
                        min_body_rate=1000.0, body_grace=1.0)
    server = BinaryPortServer(app, "127.0.0.1", 0, limits=limits, shutdown_timeout=5.0)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    holder["port"] = Port(server)
    try:
        yield holder["port"]
    finally:
        server.stop()
        thread.join(timeout=5)


def test_requests_on_one_connection_are_answered_in_turn(port: Port) -> None:
    with port.connect() as sock:
        sock.sendall(request("/data/a/echo", b"abc") + request("/data/b%20c/echo", b"xyz"))
        assert read_answer(sock)[::2] == (200, b"cbaa")
        status, headers, body = read_answer(sock)
        assert (status, body) == (200, b"zyxb c")
        assert headers["content-type"] == "application/octet-stream"
        assert "connection" not in headers  # kept alive
        sock.sendall(request("/data/a/echo", b"q", AUTH + b"Connection: close\r\n"))
        assert read_answer(sock)[1]["connection"] == "close"
        assert sock.recv(10) == b""


def test_the_requests_library_gets_the_same_contracts(port: Port) -> None:
    with requests.Session() as session:
        ok = session.post(port.url + "/data/n/echo/", data=b"12",
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert ok.status_code == 200 and ok.content == b"21n"
        missing = session.post(port.url + "/data/n/echo", data=b"12", timeout=5)
        assert missing.status_code == 401 and missing.json()["method"] == "data.echo.post"
        health = session.get(port.url + "/health", timeout=5)
        assert health.json()["data"] == {"status": "ok", "node_id": "w1", "role": "worker"}
        assert session.get(port.url + "/data/n/echo", timeout=5).status_code == 405
        assert session.post(port.url + "/data/n/other", timeout=5).status_code == 404
    assert port.seen == [b"12"]  # refused calls never reached the handler


@pytest.mark.parametrize(("raw", "status"), [
    (b"GARBAGE\r\n\r\n", 400),
    (b"POST /data/a/echo HTTP/2.0\r\n\r\n", 505),
    (b"POST /data/a/echo HTTP/1.1\r\n" + AUTH + b"Transfer-Encoding: chunked\r\n\r\n"
     b"3\r\nabc\r\n0\r\n\r\n", 411),
    (b"POST /data/a/echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab", 400),
    (b"POST /data/a/echo HTTP/1.1\r\nX: " + b"v" * 9000 + b"\r\n\r\n", 431),
])
def test_malformed_requests_get_an_envelope_and_the_connection_closes(
        port: Port, raw: bytes, status: int) -> None:
    with port.connect() as sock:
        sock.sendall(raw)
        answer_status, headers, body = read_answer(sock)
        assert answer_status == status and headers["connection"] == "close"
        envelope = json.loads(body)
        assert envelope["success"] == 0 and envelope["status"] == status
        assert sock.recv(10) == b""
    assert port.seen == []


def test_a_body_over_the_limit_is_refused_before_it_is_sent(port: Port) -> None:
    with port.connect() as sock:
        sock.sendall(b"POST /data/a/echo HTTP/1.1\r\nHost: x\r\n" + AUTH
                     + b"Content-Length: 100000000000\r\n\r\n")
        status, _, body = read_answer(sock)  # answered without waiting for 100 GB
        assert status == 413 and str(LIMIT) in json.loads(body)["message"]
    too_big = requests.post(port.url + "/data/a/echo", data=b"x" * (LIMIT * 64),
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert too_big.status_code == 413  # the sender of a real body still reads the answer
    assert port.seen == []


def test_expect_continue_gets_the_interim_answer(port: Port) -> None:
    with port.connect() as sock:
        sock.sendall(b"POST /data/a/echo HTTP/1.1\r\nHost: x\r\n" + AUTH
                     + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"ok")
        assert read_answer(sock)[2] == b"koa"


def test_connections_over_the_cap_get_503(port: Port) -> None:
    # two addresses hold their share (2 each) of the 4 slots; a third address is refused
    held = [port.connect(source) for source in ("127.0.0.1", "127.0.0.1", "127.0.0.2",
                                                "127.0.0.2")]
    try:
        for sock in held:  # every held connection is being served
            sock.sendall(request("/data/a/echo", b"1"))
            assert read_answer(sock)[0] == 200
        with port.connect("127.0.0.3") as extra:
            status, _, body = read_answer(extra)
            assert status == 503 and b"too many connections;" in body
    finally:
        for sock in held:
            sock.close()


def test_an_idle_connection_is_closed_after_the_idle_timeout(port: Port) -> None:
    with port.connect() as sock:
        started = time.monotonic()
        assert sock.recv(10) == b""
        assert 1.5 < time.monotonic() - started < 4.5


def test_stop_lets_the_request_in_flight_finish_and_closes_idle_connections(
        port: Port) -> None:
    port.delay = 0.5
    idle, busy = port.connect(), port.connect()
    with idle, busy:
        idle.sendall(request("/data/a/echo", b"i"))
        read_answer(idle)
        busy.sendall(request("/data/a/echo", b"late"))
        time.sleep(0.1)
        stopper = threading.Thread(target=port.server.stop)
        stopper.start()
        assert idle.recv(10) == b""  # closed at once
        status, headers, body = read_answer(busy)  # still answered
        assert (status, body, headers["connection"]) == (200, b"etala", "close")
        stopper.join(timeout=5)
    with pytest.raises(OSError):
        port.connect()


def dribble_until_closed(sock: socket.socket, data: bytes, pace: float = 0.3) -> int:
    """Send `data` one byte at a time, waiting up to `pace` s for the server to close in
    between; how many bytes were sent when it closed (len(data) + 1 if it never did)."""
    for sent in range(len(data)):
        try:
            sock.sendall(data[sent:sent + 1])
        except OSError:
            return sent
        if select.select([sock], [], [], pace)[0]:
            try:
                if sock.recv(65536) == b"":
                    return sent + 1
            except OSError:
                return sent + 1
    return len(data) + 1


def test_a_dribbled_head_loses_its_connection_at_the_head_deadline(port: Port) -> None:
    # 2 s head deadline, a byte every 0.3 s: closed after about 7 of these 40 bytes
    head = b"POST /data/a/echo HTTP/1.1\r\nX-Slow: " + b"s" * 10
    with port.connect() as sock:
        assert dribble_until_closed(sock, head[:40]) < 40
    assert port.seen == []


def test_a_dribbled_body_loses_its_connection_at_the_body_deadline(port: Port) -> None:
    # 1 s grace + 1,000 bytes at 1,000 B/s minimum: a byte every 0.3 s is cut within ~2 s
    with port.connect() as sock:
        sock.sendall(b"POST /data/a/echo HTTP/1.1\r\nHost: x\r\n" + AUTH
                     + b"Content-Length: 1000\r\n\r\n")
        assert dribble_until_closed(sock, b"b" * 40) < 40
    assert port.seen == []


def test_one_address_gets_at_most_its_share_and_others_are_still_served(port: Port) -> None:
    held = [port.connect("127.0.0.2") for _ in range(2)]  # the fixture's per-address cap
    try:
        with port.connect("127.0.0.2") as extra:
            status, _, body = read_answer(extra)
            assert status == 503 and b"from this address" in body
        with port.connect() as own:
            own.sendall(request("/data/a/echo", b"ok"))
            assert read_answer(own)[::2] == (200, b"koa")
    finally:
        for sock in held:
            sock.close()


def test_each_request_the_handler_answers_is_one_access_line(
        port: Port, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="synrest.access")
    with requests.Session() as session:
        answer = session.post(port.url + "/data/n/echo", data=b"12",
                              headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert answer.status_code == 200
    lines = [record for record in caplog.records if record.name == "synrest.access"]
    assert [(line.http_method, line.route, line.status) for line in lines] == [
        ("POST", "/data/n/echo", 200)]
