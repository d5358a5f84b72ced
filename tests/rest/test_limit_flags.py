"""The limit flags reach the ports of a real node: with `--max_connections_per_address 2` and
`--data_max_connections_per_address 2`, a third connection from one address is answered
503 on either port while another address is still served."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.rest.conftest import start_sample
from tests.support.processes import LOOPBACK, free_port

CAP = 2
HOLDER = "127.0.0.2"  # loopback too, but not the address the checks below come from


def answer_of(sock: socket.socket, raw: bytes = b"") -> bytes:
    """Everything the server sends on `sock` (after `raw`) until it closes or goes quiet."""
    if raw:
        sock.sendall(raw)
    data = b""
    sock.settimeout(5)
    try:
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and raw:
                break
    except (TimeoutError, ConnectionResetError):
        pass
    return data


@pytest.mark.parametrize("port_kind", ["rest", "data"])
def test_a_lowered_per_address_cap_is_honoured(tmp_path: Path, port_kind: str) -> None:
    data_port = free_port()
    service = start_sample(tmp_path, "limits", [
        "--data_port", str(data_port), "--max_connections_per_address", str(CAP),
        "--data_max_connections_per_address", str(CAP)])
    port = service.port if port_kind == "rest" else data_port
    held = [socket.create_connection((LOOPBACK, port), source_address=(HOLDER, 0))
            for _ in range(CAP)]
    try:
        with socket.create_connection((LOOPBACK, port), source_address=(HOLDER, 0)) as extra:
            refused = answer_of(extra)
        assert refused.startswith(b"HTTP/1.1 503 ") and b"from this address" in refused
        with socket.create_connection((LOOPBACK, port)) as other:
            served = answer_of(other, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert served.startswith(b"HTTP/1.1 200 "), served[:200]
    finally:
        for sock in held:
            sock.close()
        assert service.stop() == 0
    log = service.log_path.read_text(errors="replace")
    assert f"refused a connection from {HOLDER}: too many connections from this address" in log
