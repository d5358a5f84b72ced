"""Central client-level DP end to end (real TTP + Worker processes, driven by the Driver):
with a FedOpt server optimiser acting on the noised mean, and a training whose TTP is killed
mid-training and resumed (the adaptive clip C and the accountant continue where they stopped)."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest

from synalgo.privacy.accounting import epsilon
from synergos import Driver
from synergos_ttp.engine.checkpoints import FINAL_WEIGHTS, load_checkpoint, load_weights
from tests.engine.conftest import unique
from tests.engine.local_grid import (
    FAST_RUN,
    SLOW_RUN,
    LocalGrid,
    dataset_tags,
    kill_ttp_after_first_checkpoint,
    register_project,
)
from tests.engine.test_training_quality import federated_accuracy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DELTA = 1e-5
MAJORITY = 0.63  # breast_cancer's benign share: what always answering one class scores


def reference_epsilon(noise_multiplier: float, rounds: int) -> float:
    """dp-accounting's ε(δ) after `rounds` full-participation Gaussian rounds."""
    return epsilon([(noise_multiplier, 1.0, rounds)], DELTA)


def test_fedadam_with_central_dp_trains_on_the_noised_mean(driver: Driver,
                                                           grid: LocalGrid) -> None:
    project_id = unique("cdpadam")
    tags = dataset_tags("breast_cancer")
    dp = {"mode": "central", "noise_multiplier": 0.5, "clip": 1.0, "delta": DELTA}
    run = {**FAST_RUN, "algorithm": "FedAdam", "server_lr": 0.05, "rounds": 5,
           "patience": 1000, "seed": 7, "dp": dp}
    register_project(driver, grid, project_id, {"p1": tags, "p2": tags},
                     runs={"adam": run})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    job_id = driver.models.create(project_id=project_id, expt_id="expt", run_id="adam",
                                  wait=False)["data"]["job_id"]
    job = driver.jobs.wait(job_id, timeout=300, progress=False)["data"]
    model = driver.models.read(project_id, "expt", "adam")["data"][0]
    validations = driver.validations.create(project_id=project_id, expt_id="expt",
                                            run_id="adam", progress=False,
                                            timeout=300)["data"]
    assert model["rounds_completed"] == 5
    for report in model["rounds"]:
        privacy = report["privacy"]
        assert privacy["mode"] == "central" and privacy["clip"] == 1.0
        assert privacy["noise_std"] == pytest.approx(0.5 * 1.0 / 2)  # z * C / m
        assert privacy["epsilon"] == {
            pid: pytest.approx(reference_epsilon(0.5, report["round"])) for pid in ("p1", "p2")}
    run_dir = Path(job["checkpoint"]["path"]).parent.parent
    weights = load_weights(run_dir / FINAL_WEIGHTS)
    assert all(bool(tensor.isfinite().all()) for tensor in weights.values())
    # the server optimiser ran: its moments are in the last checkpoint, finite and non-zero
    _, server_state, _ = load_checkpoint(Path(job["checkpoint"]["path"]))
    moments = {name: t for name, t in server_state.items() if name.startswith("momentum.")}
    assert moments and all(bool(t.isfinite().all()) for t in moments.values())
    assert any(float(t.abs().sum()) > 0 for t in moments.values())
    accuracy = federated_accuracy(validations)
    print(f"breast_cancer, FedAdam + central DP (z=0.5, C=1), 5 rounds: accuracy {accuracy:.3f}")
    assert accuracy > MAJORITY + 0.15, accuracy


def test_a_resumed_central_dp_training_continues_clip_and_epsilon(own_ttp: LocalGrid) -> None:
    project_id = unique("cdpresume")
    z = 0.15  # adaptive clipping with 2 Workers needs z < m/10
    dp = {"mode": "central", "noise_multiplier": z, "clip": 0.05, "adaptive_clip": True,
          "delta": DELTA}
    total = 4
    job_id = kill_ttp_after_first_checkpoint(own_ttp, project_id,
                                             {**SLOW_RUN, "rounds": total, "dp": dp})
    own_ttp.start_ttp(name="ttp_restarted")
    with own_ttp.driver() as driver:
        job = driver.jobs.read(job_id)["data"]
        assert job["status"] == "interrupted", job
        done = job["checkpoint"]["round"]
        assert 1 <= done < total
        finished = driver.jobs.resume(job_id, timeout=180, progress=False)["data"]
        assert finished["status"] == "succeeded" and finished["attempts"] == 2
        model = driver.models.read(project_id, "expt", "run")["data"][0]
    rounds = model["rounds"]
    assert [report["round"] for report in rounds] == list(range(1, total + 1))
    spent = [report["privacy"]["epsilon"]["p1"] for report in rounds]
    assert spent == [pytest.approx(reference_epsilon(z, k)) for k in range(1, total + 1)]
    assert all(math.isfinite(value) for value in spent)
    assert spent == sorted(spent) and len(set(spent)) == total  # continues, not from 0
    # C follows its own trajectory across the restart: each round clips with the C the
    # round before it chose, in particular the first resumed round with the interrupted one's
    assert rounds[0]["privacy"]["clip"] == dp["clip"]
    for before, after in pairwise(rounds):
        assert after["privacy"]["clip"] == pytest.approx(before["privacy"]["next_clip"])
    assert rounds[done]["privacy"]["clip"] == pytest.approx(rounds[done - 1]["privacy"]
                                                            ["next_clip"])
    assert rounds[done - 1]["privacy"]["next_clip"] != dp["clip"]  # C moved before the kill
    assert model["privacy"]["max_epsilon"] == pytest.approx(reference_epsilon(z, total))
