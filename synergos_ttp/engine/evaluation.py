"""Validation and prediction with trained global models.

Validation: for each selected combination, every participant with `evaluate` data (or only
the one named) runs the final global weights on its own data; the Worker computes the
statistics from its labels and the TTP stores one Validation record per participant (and logs
it to MLflow). Participants without evaluate data are skipped, not an error.

Prediction: the participant's `predict` tags are replaced by the submitted ones, the whole grid
is polled again and realigned without touching the models (`auto_fix` false); if that changes
any OTHER participant's alignment the job fails with a 'feature drift' error. Otherwise the
requester alone is initialised and runs inference; a Prediction record is stored.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from synalgo.codec import encode
from synarchive import Archive
from synergos_ttp.engine.alignment import (
    check_feature_drift,
    plan_alignment,
    poll_grid,
    store_alignment,
    stored_alignments,
)
from synergos_ttp.engine.checkpoints import load_weights
from synergos_ttp.engine.combinations import Combination, read_required
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.grid import GridNode, build_grid
from synergos_ttp.engine.parallel import call_all_or_fail
from synergos_ttp.engine.run_lifecycle import (
    has_meta,
    initialise_workers,
    load_run,
    terminate_workers,
)
from synergos_ttp.engine.settings import EngineEnv
from synergos_ttp.engine.worker_client import WorkerClient
from synergos_ttp.jobs import JobContext

logger = logging.getLogger(__name__)
PREDICTION_SUMMARY = ("n_rows", "n_scored", "n_unscored", "n_labeled", "warnings", "statistics")


def trained_weights(archive: Archive, combination: Combination) -> dict[str, Any]:
    """The final global weights of a trained combination; `EngineError` if untrained."""
    model = archive.table("Model").read(combination.key, include_relations=False)
    path = ((model or {}).get("global") or {}).get("path")
    if not path:
        raise EngineError(f"model {combination.route!r} has not been trained: "
                          f"POST /ttp/train/projects/{combination.project_id}/models first")
    return load_weights(Path(path))


def validate_combination(env: EngineEnv, job: JobContext, combination: Combination,
                         participant_id: str | None = None) -> dict[str, Any]:
    """Validate one combination; returns `{"validated": [pid...], "skipped": [pid...]}`."""
    weights = trained_weights(env.archive, combination)
    grid = build_grid(env.archive, combination.project_id, env.settings.grid)
    if participant_id is not None:
        grid = [node for node in grid if node.participant_id == participant_id]
        if not grid:
            raise EngineError(f"participant {participant_id!r} is not registered in project "
                              f"{combination.project_id!r}")
    skipped = [node.participant_id for node in grid if not node.tags.get("evaluate")]
    nodes = [node for node in grid if node.tags.get("evaluate")]
    validated: list[str] = []
    with _Session(env, combination, nodes) as session:
        body = encode(weights, {"metas": ["evaluate"]})
        for client in session.ready_for("evaluate"):
            job.raise_if_cancelled()
            deadline = time.monotonic() + env.settings.call_timeout
            result = client.evaluate(combination.route, body, deadline).get("evaluate")
            if not isinstance(result, dict):
                skipped.append(client.participant_id)
                continue
            _store("Validation", env, combination, client.participant_id, "evaluate", result)
            if env.tracker is not None:
                env.tracker.log_validation(combination.ids, client.participant_id,
                                           result.get("statistics") or {})
            validated.append(client.participant_id)
        skipped.extend(session.without("evaluate"))
    return {"validated": validated, "skipped": sorted(skipped)}


def realign_for_prediction(env: EngineEnv, project_id: str, participant_id: str,
                           predict_tags: list[list[str]] | None,
                           cancelled: threading.Event | None = None) -> GridNode:
    """Replace the requester's predict tags (when given), poll and realign the grid with
    `auto_fix` false, apply the feature-drift guard and push the requester's new alignment
    (`JobCancelled` when `cancelled` is set meanwhile)."""
    key = {"project_id": project_id, "participant_id": participant_id}
    if predict_tags is not None:
        read_required(env.archive, "Tag", key,
                      f"tags of participant {participant_id!r} in project {project_id!r}")
        env.archive.table("Tag").update(key, {"predict": predict_tags})
    project = read_required(env.archive, "Project", {"project_id": project_id},
                            f"project {project_id!r}")
    grid = build_grid(env.archive, project_id, env.settings.grid)
    requester = next((node for node in grid if node.participant_id == participant_id), None)
    if requester is None:
        raise EngineError(f"participant {participant_id!r} is not registered in project "
                          f"{project_id!r}")
    if not requester.tags.get("predict"):
        raise EngineError(f"participant {participant_id!r} has no predict tags in project "
                          f"{project_id!r}")
    stored = stored_alignments(env.archive, project_id)
    clients = [WorkerClient(node, env.settings) for node in grid]
    try:
        summaries = poll_grid(clients, project_id, project["action"], env.settings.poll_timeout,
                              cancelled)
        trained_superset = next((record.get("superset") for record in stored.values()
                                 if record.get("superset")), None)
        if trained_superset is not None:
            summaries = without_unseen_predict_columns(summaries, trained_superset)
        auto_align = bool(stored.get(participant_id, {}).get("auto_align", True))
        plan = plan_alignment(summaries, auto_align)
        check_feature_drift(stored, plan, participant_id)
        own = next(client for client in clients if client.participant_id == participant_id)
        call_all_or_fail([own], lambda client: client.align(
            project_id, plan.worker_body(participant_id)), "sending the alignment", cancelled,
            WorkerClient.abort_commands)
        store_alignment(env.archive, project_id, participant_id, plan, auto_align)
    finally:
        for client in clients:
            client.close()
    return requester


def without_unseen_predict_columns(summaries: dict[str, dict[str, dict[str, Any]]],
                                   superset: dict[str, list[str]]
                                   ) -> dict[str, dict[str, dict[str, Any]]]:
    """The poll summaries with every predict header cut to the trained `superset`: columns
    and labels training never saw are ignored by the Workers (and listed in the Prediction
    record), so they must not change anyone's alignment."""
    cut = {}
    for participant_id, metas in summaries.items():
        cut[participant_id] = dict(metas)
        predict = metas.get("predict")
        if predict is not None:
            headers = {axis: [name for name in predict["headers"].get(axis, [])
                              if name in set(superset.get(axis, []))] for axis in ("X", "y")}
            cut[participant_id]["predict"] = {**predict, "headers": headers}
    return cut


def predict_combination(env: EngineEnv, job: JobContext, combination: Combination,
                        requester: GridNode, strict_features: bool = False) -> dict[str, Any]:
    """Inference of one trained combination on the requester's predict data; returns the
    stored Prediction record (the summary: the predictions stay on the Worker)."""
    weights = trained_weights(env.archive, combination)
    with _Session(env, combination, [requester]) as session:
        ready = session.ready_for("predict")
        if not ready:
            raise EngineError(f"worker {requester.participant_id!r} holds no predict data for "
                              f"{combination.route!r}")
        job.raise_if_cancelled()
        deadline = time.monotonic() + env.settings.call_timeout
        header = {"meta": "predict", "strict_features": strict_features}
        result = ready[0].predict(combination.route, encode(weights, header), deadline)
        summary = {name: result[name] for name in PREDICTION_SUMMARY if name in result}
        key = {"participant_id": requester.participant_id, **combination.key}
        return env.archive.table("Prediction").create(key, {"predict": summary})


class _Session:
    """Initialises a combination on some Workers and terminates it on exit."""

    def __init__(self, env: EngineEnv, combination: Combination, nodes: list[GridNode]) -> None:
        self.env = env
        self.combination = combination
        self.clients = [WorkerClient(node, env.settings) for node in nodes]
        self.answers: dict[str, dict[str, Any]] = {}

    def __enter__(self) -> _Session:
        if not self.clients:
            return self
        archive = self.env.archive
        project = read_required(archive, "Project", {"project_id": self.combination.project_id},
                                f"project {self.combination.project_id!r}")
        experiment = read_required(archive, "Experiment", {
            "project_id": self.combination.project_id, "expt_id": self.combination.expt_id},
            f"experiment {self.combination.expt_id!r}")
        body = {"action": project["action"], "model": experiment["model"],
                "run": load_run(archive, self.combination)}
        try:
            self.answers, errors = initialise_workers(self.clients, self.combination, body)
            if errors:
                raise EngineError("initialise failed: " + "; ".join(
                    f"worker {pid!r}: {error}" for pid, error in sorted(errors.items())))
        except BaseException:
            self.__exit__()
            raise
        return self

    def ready_for(self, meta: str) -> list[WorkerClient]:
        """Initialised Workers holding data for `meta`."""
        return [client for client in self.clients
                if has_meta(self.answers.get(client.participant_id, {}), meta)]

    def without(self, meta: str) -> list[str]:
        """Initialised participants without data for `meta`."""
        return [client.participant_id for client in self.clients
                if client.participant_id in self.answers
                and not has_meta(self.answers[client.participant_id], meta)]

    def __exit__(self, *exc_info: object) -> None:
        if self.clients:
            terminate_workers(self.clients, self.combination)
        for client in self.clients:
            client.close()


def _store(table: str, env: EngineEnv, combination: Combination, participant_id: str,
           meta: str, result: dict[str, Any]) -> dict[str, Any]:
    entry = {name: result[name] for name in ("statistics", "res_path", "predictions_path",
                                             "n_samples", "loss")
             if name in result}
    entry.setdefault("statistics", {})
    key = {"participant_id": participant_id, **combination.key}
    return env.archive.table(table).create(key, {meta: entry})
