"""HTTPS with a self-signed certificate, and graceful SIGTERM with a request in flight."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from synrest.client import NodeCallError, NodeClient
from tests.rest.conftest import start_sample
from tests.support.certificates import write_self_signed_cert
from tests.support.processes import free_port


def wait_https_health(url: str, cert: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/health", verify=str(cert), timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(f"no HTTPS health at {url}")


def test_tls_serving_verified_by_the_client(tmp_path: Path) -> None:
    cert, key = write_self_signed_cert(tmp_path)
    token = "tls-token-0123456789abcdefghij"
    data_port = free_port()
    service = start_sample(tmp_path, "tls", ["--tls_cert", str(cert), "--tls_key", str(key),
                                             "--data_port", str(data_port)],
                           env={"SYNERGOS_TOKEN": token}, wait_for_health=False)
    https_url = f"https://127.0.0.1:{service.port}"
    try:
        wait_https_health(https_url, cert)
        binary = requests.post(f"https://127.0.0.1:{data_port}/data/x/reverse", data=b"tls",
                               headers={"Authorization": f"Bearer {token}"}, verify=str(cert),
                               timeout=5)
        assert binary.status_code == 200 and binary.content == b"slt"
        with pytest.raises(requests.RequestException):  # the binary port is TLS-only too
            requests.get(f"http://127.0.0.1:{data_port}/health", timeout=2)
        with NodeClient(https_url, token=token, verify=str(cert), retries=0) as client:
            assert client.get("/sample/items")["success"] == 1
        with NodeClient(https_url, token=token, retries=0) as untrusting:
            with pytest.raises(NodeCallError) as failure:
                untrusting.get("/sample/items")
            assert failure.value.status is None
            assert "TLS" in failure.value.message
        with pytest.raises(requests.RequestException):
            requests.get(service.base_url + "/health", timeout=2)  # plain HTTP is refused
    finally:
        assert service.stop() == 0


def test_sigterm_finishes_in_flight_request_and_exits_zero(tmp_path: Path) -> None:
    service = start_sample(tmp_path, "term", ["--insecure"])
    outcome: dict[str, object] = {}

    def slow_call() -> None:
        try:
            response = requests.get(service.base_url + "/sample/slow?seconds=1.5", timeout=10)
            outcome["status"] = response.status_code
            outcome["body"] = response.json()
        except requests.RequestException as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=slow_call)
    caller.start()
    time.sleep(0.5)  # the request is being served now
    started = time.monotonic()
    exit_code = service.stop(timeout=20)
    caller.join(timeout=10)
    assert exit_code == 0
    assert outcome.get("status") == 200, outcome
    assert outcome["body"]["data"] == {"slept": 1.5}
    assert time.monotonic() - started < 10
    log = service.log_path.read_text()
    assert "on_shutdown ran" in log
    assert "shut down cleanly" in log
    with pytest.raises(requests.ConnectionError):
        requests.get(service.base_url + "/health", timeout=2)
