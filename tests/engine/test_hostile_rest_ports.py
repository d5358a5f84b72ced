"""A hostile peer holds dribbling and silent connections on a Worker's command port and
dribbling ones on the TTP's REST port during a training: both keep answering `/health`
within 2 s, the training succeeds, and once the attack ends their thread and descriptor
counts return to their baseline (real TTP, Workers and attacker processes on loopback; the
attacker on its own address)."""

from __future__ import annotations

from pathlib import Path

from synergos import Driver
from synrest.rest_server import REST_LIMITS
from tests.engine.local_grid import LocalGrid, wait_for
from tests.engine.test_hostile_data_port import (  # noqa: F401  (small_grid: a fixture)
    ATTACKER_ADDRESS,
    HEALTH_DEADLINE,
    HealthProbe,
    attack_stats,
    small_grid,
    start_attacker,
    train,
)
from tests.support.hostile_http import resource_counts, wait_for_counts

COMMAND_DRIBBLERS, COMMAND_SILENT, TTP_DRIBBLERS = 100, 100, 100


def test_a_training_succeeds_while_a_peer_holds_the_rest_ports(
        small_grid: LocalGrid, tmp_path: Path) -> None:  # noqa: F811
    worker = small_grid.workers["p1"]
    ttp = small_grid.ttp
    assert worker.service.process is not None and ttp.process is not None
    pids = {"worker": worker.service.process.pid, "ttp": ttp.process.pid}
    with small_grid.driver() as driver:
        driver_warmup(driver, small_grid)
        baselines = {name: resource_counts(pid) for name, pid in pids.items()}
        attackers = [
            start_attacker(small_grid, worker.service.port, tmp_path / "command",
                           COMMAND_DRIBBLERS, COMMAND_SILENT),
            start_attacker(small_grid, ttp.port, tmp_path / "ttp", TTP_DRIBBLERS, 0)]
        # every attacking connection was admitted (the per-address cap is far above 200)
        assert REST_LIMITS.max_per_peer > COMMAND_DRIBBLERS + COMMAND_SILENT
        opened = COMMAND_DRIBBLERS + COMMAND_SILENT
        assert wait_for(lambda: resource_counts(pids["worker"])[1] - baselines["worker"][1]
                        >= opened, 30), "the Worker never held the attacker's connections"
        with HealthProbe([worker.service.base_url, ttp.base_url]) as probe:
            job_id = train(driver, small_grid, "attacked", wait=False)
            finished = driver.jobs.wait(job_id, timeout=180, progress=False)["data"]
            # the deadline cut the attacker's connections at least once while it went on
            wait_for(lambda: attack_stats(tmp_path, "command")["cut"] >= COMMAND_SILENT, 60)
        for attacker in attackers:
            assert attacker.process is not None and attacker.process.poll() is None
            attacker.stop()
    assert finished["status"] == "succeeded", finished
    assert probe.probes > 0 and probe.failures == []
    assert probe.slowest < HEALTH_DEADLINE, probe.slowest
    for name, pid in pids.items():
        threads, fds = wait_for_counts(pid, baselines[name], slack=2, timeout=45)
        assert threads <= baselines[name][0] + 2 and fds <= baselines[name][1] + 2, (
            name, baselines[name], threads, fds)
    log = worker.service.log_path.read_text(errors="replace")
    refusals = [line for line in log.splitlines() if "refused a connection from" in line
                and ATTACKER_ADDRESS in line]
    assert any("took too long" in line for line in refusals), "no deadline refusal logged"
    assert len(refusals) < 20, len(refusals)  # once per peer and reason per minute


def driver_warmup(driver: Driver, grid: LocalGrid) -> None:
    """A first training, so that the nodes' pools and threads exist before the baseline."""
    train(driver, grid, "warmup")
