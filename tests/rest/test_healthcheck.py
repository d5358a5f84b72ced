"""`python -m syncommon.healthcheck PORT`, the images' HEALTHCHECK: 0 for a node serving plain
HTTP or TLS, 1 for a closed port or a `/health` that is not 200."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rest.conftest import start_sample
from tests.rest.test_tls_and_shutdown import wait_https_health
from tests.support.certificates import write_self_signed_cert
from tests.support.processes import LOOPBACK, free_port


def check(port: int) -> int:
    """The health check's exit status, run as the container runtime runs it."""
    return subprocess.run([sys.executable, "-m", "syncommon.healthcheck", str(port)],
                          capture_output=True, timeout=60, check=False).returncode


class _Dead(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def dead_node() -> Iterator[int]:
    """A port whose `/health` answers 503 (a node with an ended essential loop)."""
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), _Dead)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_serving_node_is_healthy_over_http_and_tls(tmp_path: Path) -> None:
    plain = start_sample(tmp_path, "plain", ["--insecure"])
    cert, key = write_self_signed_cert(tmp_path)
    tls = start_sample(tmp_path, "tls", ["--insecure", "--tls_cert", str(cert),
                                         "--tls_key", str(key)], wait_for_health=False)
    try:
        wait_https_health(f"https://127.0.0.1:{tls.port}", cert)
        assert check(plain.port) == 0
        assert check(tls.port) == 0
    finally:
        assert plain.stop() == 0 and tls.stop() == 0


def test_a_closed_port_or_a_dead_node_is_unhealthy(dead_node: int) -> None:
    assert check(free_port()) == 1
    assert check(dead_node) == 1
