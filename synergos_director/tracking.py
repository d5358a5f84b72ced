"""MLflow on the Director: cluster TTPs track nothing (their archives are scratch), so the
Director replays what a finished job sent back into its own MLflow store, with the same
mapping a basic TTP uses (`synergos_ttp.tracking`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from synarchive import Archive
from synergos_ttp.cluster.snapshot import Snapshot
from synergos_ttp.engine.combinations import Combination
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.privacy_records import privacy_metrics
from synergos_ttp.engine.run_lifecycle import load_run
from synergos_ttp.engine.service import TRAINING
from synergos_ttp.tracking.mlflow_tracker import MlflowTracker, round_metrics

logger = logging.getLogger(__name__)
_LOCAL_PREFIX = "local_"


def track_cluster_result(tracker: MlflowTracker | None, archive: Archive, kind: str,
                         records: Snapshot) -> None:
    """Queue the MLflow calls for a cluster job's own records (`dispatch.own_records`): the
    run params, per-round losses and final weights of each model a training trained, every
    contribution's totals and shares, and every validation's statistics."""
    if tracker is None:
        return
    if kind == TRAINING:
        for model in records.get("Model", []):
            _track_training(tracker, archive, model)
    for contribution in records.get("Contribution", []):
        key, details = contribution["key"], contribution["details"]
        tracker.log_contribution((key["project_id"], key["expt_id"], key["run_id"]),
                                 details.get("totals") or {}, details.get("shares") or {})
    for validation in records.get("Validation", []):
        key = validation["key"]
        statistics = (validation["details"].get("evaluate") or {}).get("statistics") or {}
        tracker.log_validation((key["project_id"], key["expt_id"], key["run_id"]),
                               key["participant_id"], statistics)


def _track_training(tracker: MlflowTracker, archive: Archive, model: dict[str, Any]) -> None:
    key, details = model["key"], model["details"]
    combination = Combination(key["project_id"], key["expt_id"], key["run_id"])
    try:
        run = load_run(archive, combination)
    except EngineError as error:  # the run was deleted meanwhile: track what is left
        logger.warning("tracking a model without its run", extra={"route": combination.route,
                                                                   "error": str(error)})
        run = {}
    tracker.start_run(*combination.ids, run)
    history = details.get("global", {}).get("loss_history", {})
    train, evaluate = history.get("train") or {}, history.get("evaluate") or {}
    local = {entry["origin"]: entry.get("loss_history") or {}
             for name, entry in details.items()
             if name.startswith(_LOCAL_PREFIX) and isinstance(entry, dict)}
    reports = {report.get("round"): report for report in details.get("rounds") or []
               if isinstance(report, dict)}
    for number in range(1, int(details.get("rounds_completed") or 0) + 1):
        step = str(number)
        tracker.log_round(combination.ids, number, {**round_metrics(
            train.get(step), evaluate.get(step),
            {participant: losses[step] for participant, losses in local.items()
             if step in losses}), **privacy_metrics(reports.get(number) or {})})
    weights = details.get("global", {}).get("path")
    if weights and Path(weights).is_file():  # on the outputs volume the cluster shares
        tracker.log_artifact(combination.ids, Path(weights))
    tracker.end_run(combination.ids, succeeded=True)
