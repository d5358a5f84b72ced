"""Secure aggregation end to end (real TTP + Worker processes, driven by the Driver): the
combinations it refuses, training to the same accuracy as plain FedAvg, and a round that
survives a Worker dying after the key stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from synergos import Driver
from synergos.errors import ValidationError
from tests.engine.conftest import unique
from tests.engine.local_grid import (
    FAST_RUN,
    LocalGrid,
    dataset_tags,
    register_project,
    wait_for,
)

pytestmark = pytest.mark.integration

SECURE_RUN = {**FAST_RUN, "secure_aggregation": True}

REFUSED = [
    ({"aggregator": "krum"}, "aggregator 'krum'"),
    ({"aggregator": "median"}, "aggregator 'median'"),
    ({"aggregator": "trimmed_mean"}, "aggregator 'trimmed_mean'"),
    ({"update_clip": 2.0}, "a numeric update_clip"),
    ({"algorithm": "FedGKT", "L": 1, "allow_label_sharing": True}, "FedGKT"),
    ({"contribution": True}, "contribution scoring"),
    ({"update_compression": "int8"}, "update_compression 'int8'"),
    ({"dp": {"mode": "central", "noise_multiplier": 1.0}}, "central DP"),
]


@pytest.mark.parametrize(("fields", "named"), REFUSED, ids=[text for _, text in REFUSED])
def test_conflicting_runs_are_refused_with_422_naming_the_conflict(
        driver: Driver, grid: LocalGrid, fields: dict[str, Any], named: str) -> None:
    project_id = unique("sacombo")
    register_project(driver, grid, project_id, {}, runs={})
    with pytest.raises(ValidationError) as refusal:
        driver.runs.create(project_id=project_id, expt_id="expt", run_id="secure",
                           **{**SECURE_RUN, **fields})
    assert refusal.value.status == 422
    assert named in str(refusal.value.errors["secure_aggregation"])


def test_a_secure_run_turns_the_auto_update_clip_off_and_keeps_worker_dp(
        driver: Driver, grid: LocalGrid) -> None:
    project_id = unique("sarun")
    register_project(driver, grid, project_id, {}, runs={})
    run = driver.runs.create(project_id=project_id, expt_id="expt", run_id="secure",
                             dp={"mode": "worker", "noise_multiplier": 1.0},
                             **SECURE_RUN)["data"]
    assert run["secure_aggregation"] is True and run["update_clip"] is None
    assert (run["secagg_clip"], run["secagg_bits"], run["secagg_threshold"]) == (8.0, 22, None)
    with pytest.raises(ValidationError) as refusal:
        driver.runs.create(project_id=project_id, expt_id="expt", run_id="bits",
                           secagg_bits=32, **SECURE_RUN)
    assert "secagg_bits" in refusal.value.errors


def federated_accuracy(validations: list[dict[str, Any]]) -> float:
    """Test accuracy over every participant's evaluate rows (sample-weighted)."""
    total = sum(record["evaluate"]["n_samples"] for record in validations)
    return sum(record["evaluate"]["statistics"]["accuracy_overall"]
               * record["evaluate"]["n_samples"] for record in validations) / total


def trained_accuracy(driver: Driver, project_id: str, run_id: str) -> tuple[dict, float]:
    """Train and validate one run: `(model record, accuracy)`."""
    model = driver.models.create(project_id=project_id, expt_id="expt", run_id=run_id,
                                 progress=False, timeout=300)["data"][0]
    validations = driver.validations.create(project_id=project_id, expt_id="expt",
                                            run_id=run_id, progress=False, timeout=300)["data"]
    return model, federated_accuracy(validations)


@pytest.mark.parametrize("algorithm", ["FedAvg", "FedAdam"])
def test_secure_aggregation_reaches_the_accuracy_of_plain_aggregation(
        driver: Driver, grid: LocalGrid, algorithm: str) -> None:
    project_id = unique("saacc")
    tags = dataset_tags("breast_cancer")
    run = {**FAST_RUN, "algorithm": algorithm, "rounds": 5, "seed": 7}
    if algorithm == "FedAdam":  # the server optimiser acts on the unmasked mean delta
        run.update(server_lr=0.05)
    register_project(driver, grid, project_id, {"p1": tags, "p2": tags},
                     runs={"plain": run, "secure": {**run, "secure_aggregation": True}})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    _, plain = trained_accuracy(driver, project_id, "plain")
    model, secure = trained_accuracy(driver, project_id, "secure")
    assert abs(secure - plain) <= 0.01, (plain, secure)
    assert secure > 0.85
    for report in model["rounds"]:
        assert report["secure_aggregation"]["survivors"] == ["p1", "p2"]
        assert report["secure_aggregation"]["threshold"] == 2
        assert report["train_loss"] is None  # no Worker's training loss reaches the TTP
        for pid in ("p1", "p2"):
            assert set(report["participants"][pid]) == {"status", "n_samples"}
    assert all(report["evaluate_loss"] is not None for report in model["rounds"])


def test_a_worker_killed_after_the_key_stage_leaves_the_survivors_sum(
        driver: Driver, grid: LocalGrid, tmp_path: Path) -> None:
    project_id = unique("sakill")
    tags = dataset_tags("breast_cancer", ["train"])
    proxy = grid.start_proxy("tests.engine.hold_proxy", "victim", tmp_path, "1", str(tmp_path),
                             "secagg-masked")
    run = {**FAST_RUN, "rounds": 2, "secure_aggregation": True, "min_workers": 2,
           "round_timeout": 60, "secagg_clip": 0.5}
    register_project(driver, grid, project_id,
                     {"p1": dataset_tags("breast_cancer"), "p2": tags, "victim": tags},
                     runs={"secure": run}, data_ports={"victim": proxy.port})
    driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    job = driver.models.create(project_id=project_id, expt_id="expt", run_id="secure",
                               wait=False)["data"]
    # the victim shared its keys and its masked input is on its way: kill it now
    wait_for(lambda: (tmp_path / "held").exists() or proxy.process.poll() is not None,
             timeout=120)
    assert (tmp_path / "held").exists(), proxy.log_tail()
    victim = grid.workers["victim"].service
    victim.kill()
    try:
        finished = driver.jobs.wait(job["job_id"], timeout=180, progress=False)["data"]
    finally:  # the session's other tests use this Worker
        victim.start(wait_for_health=True, timeout=120)
    assert finished["status"] == "succeeded", finished
    model = driver.models.read(project_id, "expt", "secure")["data"][0]
    first, second = model["rounds"]
    assert first["secure_aggregation"]["survivors"] == ["p1", "p2"]
    assert first["secure_aggregation"]["dropped"] == ["victim"]  # its pairwise masks removed
    assert first["participants"]["victim"]["stage"] == "masked input"
    assert second["participants"]["victim"]["stage"] == "fit"
    assert second["secure_aggregation"]["dropped"] == []
    # a pairwise mask left in the sum would add uniform noise over the whole modulus (weights
    # off by thousands): the unmasked model is finite and still learned
    weights = load_file(model["global"]["path"])
    assert all(bool(torch.isfinite(tensor).all()) for tensor in weights.values())
    validations = driver.validations.create(project_id=project_id, expt_id="expt",
                                            run_id="secure", progress=False,
                                            timeout=300)["data"]
    assert federated_accuracy(validations) > 0.8
