"""Authentication on both ports, health without a token, and what the logs never contain."""

from __future__ import annotations

import pytest
import requests

from synalgo.codec import encode
from tests.worker.conftest import TOKEN, WorkerClient
from tests.worker.models import binary_model, initial_weights

pytestmark = pytest.mark.integration


def test_health_needs_no_token_on_either_port(worker: WorkerClient) -> None:
    for base in (worker.command_url, worker.data_url):
        response = requests.get(base + "/health", timeout=10)
        assert response.status_code == 200 and response.json()["data"]["status"] == "ok"


def test_command_port_requires_the_token(worker: WorkerClient) -> None:
    url = worker.command_url + "/worker/poll/any"
    assert requests.get(url, timeout=10).status_code == 401
    wrong = requests.get(url, headers={"Authorization": "Bearer wrong-token-0123456789"},
                         timeout=10)
    assert wrong.status_code == 401 and wrong.json()["success"] == 0


def test_data_port_requires_the_token(worker: WorkerClient) -> None:
    body = encode(initial_weights(binary_model(4)), {})
    response = requests.post(worker.data_url + "/data/p/e/r/fit", data=body, timeout=10)
    assert response.status_code == 401 and response.json()["success"] == 0


def test_logs_hold_no_token_and_are_censored(worker: WorkerClient) -> None:
    worker.poll("log_check", {"train": [["alpha", "train"]]})
    requests.get(worker.command_url + "/worker/poll/x",
                 headers={"Authorization": f"Bearer {TOKEN}x"}, timeout=10)
    log = worker.service.log_tail(10_000_000)
    assert "preprocessing finished" in log
    assert TOKEN not in log
    assert str(worker.home) not in log  # --censored removes paths
