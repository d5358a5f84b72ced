"""A cluster TTP's job loop survives broker name-resolution failures, and a TTP whose loop
died says so on `/health` (503) and exits 1, so a restart policy can replace it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from synergos_testing.local_broker import RabbitBroker, running_broker
from tests.support.processes import LOOPBACK, ServiceProcess, free_port

pytestmark = pytest.mark.integration
UNRESOLVABLE_BROKER = "synergos-mq.invalid"  # RFC 2606: never resolves
RETRY_LINE = "unreachable (gaierror("
WAIT_S = 90.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitBroker]:
    with running_broker(tmp_path_factory.mktemp("liveness-broker")) as started:
        yield started


def _cluster_ttp(tmp_path: Path, queue_host: str, queue_port: int,
                 env: dict[str, str] | None = None) -> ServiceProcess:
    port = free_port()
    return ServiceProcess(
        module="synergos_ttp", port=port, log_path=tmp_path / "ttp.log", env=env or {},
        args=["--host", LOOPBACK, "--port", str(port), "--id", "ttp_liveness", "--grid", "0",
              "--queue", "rabbitmq", queue_host, str(queue_port),
              "--data_dir", str(tmp_path / "data"), "--outputs_dir", str(tmp_path / "outputs"),
              "--insecure"])


def _wait_for_log(service: ServiceProcess, text: str, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while service.log_tail(200_000).count(text) < count:
        assert time.monotonic() < deadline, f"{text!r} x{count} not logged:\n{service.log_tail()}"
        assert service.process is not None and service.process.poll() is None, \
            f"the TTP exited:\n{service.log_tail()}"
        time.sleep(0.1)


def test_an_unresolvable_broker_name_is_retried_and_the_node_stays_alive(
        tmp_path: Path) -> None:
    ttp = _cluster_ttp(tmp_path, UNRESOLVABLE_BROKER, 5672).start(timeout=120)
    try:
        _wait_for_log(ttp, RETRY_LINE, 3)
        health = requests.get(ttp.base_url + "/health", timeout=5)
        assert health.status_code == 200, health.text
        assert "essential loop" not in ttp.log_tail(200_000)
    finally:
        assert ttp.stop() == 0, ttp.log_tail()


def test_a_dead_job_loop_answers_503_on_health_and_exits_1(
        broker: RabbitBroker, tmp_path: Path) -> None:
    ttp = _cluster_ttp(tmp_path, broker.host, broker.amqp_port,
                       env={"SYNERGOS_MQ_USER": "nobody", "SYNERGOS_MQ_PASSWORD": "wrong"})
    ttp.start(wait_for_health=False)
    try:
        assert ttp.process is not None
        exit_code = ttp.process.wait(timeout=WAIT_S)
    finally:
        ttp.stop()
    log = ttp.log_tail(200_000)
    assert exit_code == 1, log
    assert "essential loop 'cluster-jobs' ended" in log and "refused user 'nobody'" in log

