"""A malicious Worker cannot silently ruin or stall a training (real TTP and Workers; the
attacker is `attack_proxy`, a process rewriting one honest Worker's fit replies).

For every aggregator and attack the job either succeeds with a finite global model of the
right shapes, within 3 accuracy points of the same grid without the attack, and the attacker
reported `rejected`, `clipped` or `timeout` in every round; or it fails naming the attacker.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from synalgo.model_spec import build_model
from synergos import Driver
from synergos.errors import JobFailedError
from tests.engine.conftest import unique
from tests.engine.local_grid import LocalGrid, dataset_tags, register_project

pytestmark = pytest.mark.integration

ATTACKER = "mallory"
BASE_RUN = {"optimizer": "SGD", "lr": 0.1, "lr_scheduler": None, "criterion": "BCELoss",
            "batch_size": 32, "rounds": 3, "epochs": 1, "seed": 7, "round_timeout": 30,
            "min_workers": 3}
CASES = {
    "fedavg": {"algorithm": "FedAvg"},
    "fedprox": {"algorithm": "FedProx", "mu": 0.1},
    "fedadam": {"algorithm": "FedAdam", "server_lr": 0.05},
    "median": {"algorithm": "FedAvg", "aggregator": "median"},
    "trimmed": {"algorithm": "FedAvg", "aggregator": "trimmed_mean", "trim_ratio": 0.25},
    "krum": {"algorithm": "FedAvg", "aggregator": "krum", "krum_byzantine": 0},
}
ATTACKS = ["nan", "inf", "nan1", "scale", "int64", "float16", "shape", "extra", "samples",
           "trickle", "huge"]
TRICKLE_DEADLINE = 3.0  # round_timeout of the trickle runs
TRICKLE_SLACK = 2.0  # a trickling reply may stretch a round by at most this much
ACCURACY_POINTS = 0.03


def run_fields(case: str, attack: str) -> dict[str, Any]:
    """The run of one aggregator case under one attack (`none`: the honest baseline)."""
    fields = {**BASE_RUN, **CASES[case]}
    if attack == "trickle":
        fields.update(rounds=2, round_timeout=TRICKLE_DEADLINE)
    return fields


def start_attack_proxy(grid: LocalGrid, folder: Path) -> int:
    """The attack proxy in front of the attacker's data port; returns its port."""
    return grid.start_proxy("bench.attack_proxy", ATTACKER, folder, str(folder)).port


@pytest.fixture(scope="module")
def attacked_project(grid: LocalGrid, datasets: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A project of four Workers (`p1`, `p2`, `p3`, and `mallory` behind the attack proxy)
    with one run per aggregator case and attack, aligned."""
    missing = {pid: root for pid, root in {"p3": datasets / "party_1",
                                           ATTACKER: datasets / "party_2"}.items()
               if pid not in grid.workers}
    if missing:
        grid.start_workers(missing)
    proxy_port = start_attack_proxy(grid, tmp_path_factory.mktemp("attack_proxy"))
    project_id = unique("untrusted")
    runs = {f"{case}-{attack}": run_fields(case, attack)
            for case in CASES for attack in ["none", *ATTACKS]}
    runs["strict-nan"] = {**run_fields("fedavg", "nan"), "min_workers": None}
    tags = dataset_tags("breast_cancer_iid")
    with grid.driver() as driver:
        register_project(driver, grid, project_id,
                         {"p1": tags, "p2": tags, "p3": tags, ATTACKER: tags}, runs=runs,
                         data_ports={ATTACKER: proxy_port})
        driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    yield project_id


def accuracy(driver: Driver, project_id: str, run_id: str, datasets: Path) -> float:
    """Accuracy of a run's final global model on the pooled evaluate rows (z-scored with the
    pooled training rows, as the alignment does); also checks the model is finite."""
    model = driver.models.read(project_id, "expt", run_id)["data"][0]
    spec = driver.experiments.read(project_id=project_id, expt_id="expt")["data"]["model"]
    weights = load_file(model["global"]["path"])
    reference = build_model(spec, seed=0).state_dict()
    assert {name: tuple(t.shape) for name, t in weights.items()} == {
        name: tuple(t.shape) for name, t in reference.items()}
    assert all(t.dtype == reference[name].dtype for name, t in weights.items())
    assert all(bool(torch.isfinite(t).all()) for t in weights.values() if t.is_floating_point())
    net = build_model(spec, seed=0)
    net.load_state_dict(weights)
    train = pd.read_csv(datasets / "central" / "breast_cancer_iid" / "train" / "data.csv")
    test = pd.read_csv(datasets / "central" / "breast_cancer_iid" / "evaluate" / "data.csv")
    columns = sorted(column for column in train.columns if column != "target")
    scaled = (test[columns] - train[columns].mean()) / train[columns].std(ddof=0)
    with torch.no_grad():
        scores = net(torch.tensor(scaled.to_numpy(), dtype=torch.float32)).reshape(-1)
    predicted = (scores > 0.5).long()
    return float((predicted == torch.tensor(test["target"].to_numpy())).float().mean())


_HONEST: dict[str, float] = {}


def honest_accuracy(driver: Driver, project_id: str, case: str, datasets: Path) -> float:
    """Accuracy of the case's run without an attack (trained once per module)."""
    if case not in _HONEST:
        driver.models.create(project_id=project_id, expt_id="expt", run_id=f"{case}-none",
                             progress=False, timeout=300)
        _HONEST[case] = accuracy(driver, project_id, f"{case}-none", datasets)
    return _HONEST[case]


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("case", list(CASES))
def test_an_attacking_worker_is_named_and_cannot_ruin_or_stall_the_training(
        driver: Driver, attacked_project: str, datasets: Path, case: str, attack: str) -> None:
    baseline = honest_accuracy(driver, attacked_project, case, datasets)
    run_id = f"{case}-{attack}"
    started = time.monotonic()
    try:
        driver.models.create(project_id=attacked_project, expt_id="expt", run_id=run_id,
                             progress=False, timeout=300)
    except JobFailedError as failure:  # allowed, if it names the attacker; none does today
        assert ATTACKER in failure.job["error"], failure.job["error"]
        pytest.fail(f"the job failed: {failure.job['error']}")
    took = time.monotonic() - started
    rounds = driver.models.read(attacked_project, "expt", run_id)["data"][0]["rounds"]
    for report in rounds:
        seen = report["participants"][ATTACKER]
        if attack == "scale":
            assert seen["status"] == "ok" and seen["clipped"] is True, seen
        else:
            expected = "timeout" if attack == "trickle" else "rejected"
            assert seen["status"] == expected and seen["error"], (attack, seen)
        for honest in ("p1", "p2", "p3"):
            assert report["participants"][honest]["status"] == "ok", report
    if attack == "trickle":
        for report in rounds:
            assert report["seconds"] <= TRICKLE_DEADLINE + TRICKLE_SLACK, report
        assert took < len(rounds) * (TRICKLE_DEADLINE + TRICKLE_SLACK) + 30
    attacked = accuracy(driver, attacked_project, run_id, datasets)
    assert math.isfinite(attacked)
    assert attacked >= baseline - ACCURACY_POINTS, (case, attack, attacked, baseline)


def test_a_round_that_loses_too_many_replies_fails_naming_the_attacker_and_why(
        driver: Driver, attacked_project: str) -> None:
    with pytest.raises(JobFailedError) as failure:
        driver.models.create(project_id=attacked_project, expt_id="expt", run_id="strict-nan",
                             progress=False, timeout=300)
    message = failure.value.job["error"]
    assert "3 of 4 workers answered, min_workers is 4" in message, message
    assert f"{ATTACKER} rejected" in message and "non-finite" in message, message
