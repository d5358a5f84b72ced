"""`DataPortPool` and `WorkerClient` over TLS against a real HTTPS server on loopback:
keep-alive connections are reused over TLS, and a certificate from another CA or
for another host is refused before any request byte leaves, as an error naming the Worker."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from synergos_ttp.engine.data_connection import DataPortPool
from synergos_ttp.engine.errors import WorkerCallError
from synergos_ttp.engine.grid import GridNode
from synergos_ttp.engine.settings import EngineSettings
from synergos_ttp.engine.worker_client import WorkerClient, worker_tls_context
from tests.engine.test_data_connection import EchoServer, call, serving
from tests.support.certificates import write_ca, write_signed_cert


@pytest.fixture
def authority(tmp_path: Path) -> tuple[Path, Path]:
    """The CA the client trusts."""
    return write_ca(tmp_path / "ca")


@pytest.fixture
def tls_server(tmp_path: Path, authority: tuple[Path, Path]) -> Iterator[EchoServer]:
    """An echo server serving HTTPS with a certificate for 127.0.0.1 signed by `authority`."""
    cert, key = write_signed_cert(tmp_path / "server", authority)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    echo = EchoServer()
    echo.socket = context.wrap_socket(echo.socket, server_side=True)
    yield from serving(echo)


def test_tls_calls_reuse_one_keep_alive_connection(
        tls_server: EchoServer, authority: tuple[Path, Path]) -> None:
    pool = DataPortPool("127.0.0.1", tls_server.server_address[1], "tok", connect_timeout=5,
                        tls=worker_tls_context(str(authority[0])))
    try:
        assert call(pool, b"abc") == b"cba"
        assert call(pool, b"hello") == b"olleh"
    finally:
        pool.close()
    assert tls_server.connections == 1
    assert tls_server.seen[0][1] == "Bearer tok"


def worker_client(tmp_path: Path, host: str, port: int, ca_file: Path) -> WorkerClient:
    node = GridNode(participant_id="p_tls", host=host, data_port=port, command_port=port,
                    token="tok", secure=True)
    return WorkerClient(node, EngineSettings(outputs_dir=tmp_path, worker_ca=ca_file))


def test_a_certificate_from_another_ca_is_a_clear_error_naming_the_worker(
        tls_server: EchoServer, tmp_path: Path) -> None:
    other_ca = write_ca(tmp_path / "other", "Another CA")
    port = tls_server.server_address[1]
    client = worker_client(tmp_path, "127.0.0.1", port, other_ca[0])
    try:
        with pytest.raises(WorkerCallError) as failure:
            client.evaluate("p/e/r", b"x", time.monotonic() + 10)
    finally:
        client.close()
    message = str(failure.value)
    assert "p_tls" in message and f"127.0.0.1:{port}" in message, message
    assert "certificate verify failed" in message, message
    assert tls_server.seen == []


def test_a_certificate_for_another_host_is_a_clear_error_naming_the_worker(
        tls_server: EchoServer, tmp_path: Path, authority: tuple[Path, Path]) -> None:
    port = tls_server.server_address[1]
    client = worker_client(tmp_path, "localhost", port, authority[0])
    try:
        with pytest.raises(WorkerCallError) as failure:
            client.evaluate("p/e/r", b"x", time.monotonic() + 10)
    finally:
        client.close()
    message = str(failure.value)
    assert "p_tls" in message and f"localhost:{port}" in message, message
    assert "certificate" in message and "localhost" in message, message
    assert tls_server.seen == []
