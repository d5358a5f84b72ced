"""Hyperparameter optimisation of an experiment: Optuna ask/tell over trials that are runs.

* `search_space`  - `{name: {_type, _value}}` (Ray Tune / NNI style) -> Optuna distributions;
* `request`       - the POST body checked field by field (422 errors name the field);
* `metrics`       - the optimised metric read from a trial's Validation records;
* `study`         - `StudyDriver`: ask/tell with up to `trial_concurrency` trials at a time
  over a `TrialExecutor` (a basic TTP runs one at a time, a Director several);
* `executor`      - `EngineTrialExecutor`: store, train and validate `optim_run_<n>`;
* `service`       - `OptimizationService`: the `optimization` job and its archive record.
"""

from __future__ import annotations

from synergos_ttp.optimization.metrics import MetricUnavailable, MetricValue, extract_metric
from synergos_ttp.optimization.request import OptimizationRequest, parse_request
from synergos_ttp.optimization.search_space import parse_search_space
from synergos_ttp.optimization.service import OPTIMIZATION, OptimizationService
from synergos_ttp.optimization.study import (
    StopSignal,
    StudyDriver,
    StudyOutcome,
    StudySettings,
    TrialExecutor,
    TrialRequest,
    TrialResult,
)

__all__ = [
    "OPTIMIZATION",
    "MetricUnavailable",
    "MetricValue",
    "OptimizationRequest",
    "OptimizationService",
    "StopSignal",
    "StudyDriver",
    "StudyOutcome",
    "StudySettings",
    "TrialExecutor",
    "TrialRequest",
    "TrialResult",
    "extract_metric",
    "parse_request",
    "parse_search_space",
]
