"""The malformed-request catalogue against a real node's REST port and data port, with no
token, a wrong token and the right one: every entry gets a 4xx and a closed connection, the
node goes on serving, leaks no thread or descriptor and logs no traceback."""

from __future__ import annotations

import pytest
import requests

from tests.rest.conftest import SHARED_TOKEN
from tests.support.hostile_http import CATALOGUE, exchange, resource_counts, wait_for_counts
from tests.support.processes import ServiceProcess

AUTHS = {
    "no token": b"",
    "wrong token": b"Authorization: Bearer not-the-token-0123456789\r\n",
    "valid token": b"Authorization: Bearer " + SHARED_TOKEN.encode() + b"\r\n",
}
# (port, method, path): a JSON route of the REST port and a route of the data port
TARGETS = {
    "REST port": ("rest", b"POST", b"/sample/items"),
    "data port": ("data", b"POST", b"/data/x/reverse"),
}


def _refusal(status: int) -> bool:
    """A client error, or 505 (the standard answer to an HTTP version it does not speak)."""
    return 400 <= status < 500 or status == 505


def _port(service: ServiceProcess, data_url: str, which: str) -> int:
    return service.port if which == "rest" else int(data_url.rsplit(":", 1)[1])


@pytest.mark.parametrize("auth_name", list(AUTHS))
@pytest.mark.parametrize("target_name", list(TARGETS))
def test_every_malformed_request_gets_a_4xx_and_a_closed_connection(
        shared_service: ServiceProcess, shared_data_url: str, target_name: str,
        auth_name: str) -> None:
    which, method, path = TARGETS[target_name]
    port = _port(shared_service, shared_data_url, which)
    wrong: dict[str, tuple[list[int], bool]] = {}
    for entry in CATALOGUE:
        statuses, closed = exchange(port, entry.build(method, path, AUTHS[auth_name]))
        if not statuses or not _refusal(statuses[-1]) or not closed or any(
                status >= 500 and not _refusal(status) for status in statuses):
            wrong[entry.name] = (statuses, closed)
    assert wrong == {}, f"{target_name}, {auth_name}: (answers, closed) per culprit"


def test_the_node_still_serves_leaks_nothing_and_logs_no_traceback(
        shared_service: ServiceProcess, shared_data_url: str) -> None:
    assert shared_service.process is not None
    pid = shared_service.process.pid
    assert requests.get(shared_service.base_url + "/health", timeout=5).status_code == 200
    assert requests.get(shared_data_url + "/health", timeout=5).status_code == 200
    baseline = resource_counts(pid)
    for which in ("rest", "data"):
        port = _port(shared_service, shared_data_url, which)
        for entry in CATALOGUE:
            exchange(port, entry.build(b"POST", TARGETS["REST port"][2], AUTHS["valid token"]))
    threads, fds = wait_for_counts(pid, baseline)
    assert threads <= baseline[0] + 2 and fds <= baseline[1] + 2, (baseline, threads, fds)
    assert requests.get(shared_service.base_url + "/health", timeout=5).status_code == 200
    assert requests.get(shared_data_url + "/health", timeout=5).status_code == 200
    log = shared_service.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "ValueError" not in log
