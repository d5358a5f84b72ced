"""`FederatedEngine`: the TTP's alignment, training, validation and prediction jobs.

Each POST of the train/evaluate APIs becomes one background job (`synergos_ttp.jobs`):

* `alignment`  - poll every Worker, MFA, push the alignment, auto-fix the experiments;
* `training`   - every selected experiment x run combination, in sequence, in ONE job (its
  progress is the current combination's round k of R); resumable: a resumed job skips the
  combinations already trained and restarts the current one after its last checkpoint;
* `validation` - every selected combination on every participant's evaluate data;
* `prediction` - realign with the new predict tags (feature-drift guard), then inference for
  each selected combination;
* `contribution` - per-round Shapley contributions of trained runs, measured afterwards by
  replaying each training from its seed (`CombinationTrainer` with `replay`).

Only one of these jobs runs per project at a time (the Workers hold per-project state);
`active_job(project_id)` tells the API which one is in the way. Jobs of every kind are
resumable (alignment, validation and prediction simply run again).
"""

from __future__ import annotations

from typing import Any

from synarchive import Archive
from synergos_ttp.engine.alignment import align_project
from synergos_ttp.engine.combinations import Combination, read_required
from synergos_ttp.engine.evaluation import (
    predict_combination,
    realign_for_prediction,
    validate_combination,
)
from synergos_ttp.engine.grid import build_grid
from synergos_ttp.engine.settings import EngineEnv, EngineSettings
from synergos_ttp.engine.training import CombinationTrainer
from synergos_ttp.engine.worker_client import WorkerClient
from synergos_ttp.jobs import JobContext, JobRunner, JobTarget
from synergos_ttp.tracking import MlflowTracker

ALIGNMENT = "alignment"
TRAINING = "training"
VALIDATION = "validation"
PREDICTION = "prediction"
CONTRIBUTION = "contribution"
ENGINE_KINDS = (ALIGNMENT, TRAINING, VALIDATION, PREDICTION, CONTRIBUTION)
# Kinds that drive a project's Workers, so at most one of them runs per project at a time:
# the engine's own and the optimisation jobs (each trial trains and validates on the Workers).
PROJECT_EXCLUSIVE_KINDS = (*ENGINE_KINDS, "optimization")
ACTIVE = ("queued", "running")


class FederatedEngine:
    """Submits and runs the engine's jobs on a `JobRunner`; registers their resumers."""

    def __init__(self, archive: Archive, runner: JobRunner, settings: EngineSettings,
                 tracker: MlflowTracker | None = None) -> None:
        self.env = EngineEnv(archive=archive, settings=settings, tracker=tracker)
        self.runner = runner
        for kind in ENGINE_KINDS:
            runner.register_resumer(kind, self.target_for)

    # ----------------------------------------------------------------- submitting
    def submit_alignment(self, project_id: str, auto_align: bool = True,
                         auto_fix: bool = True) -> dict[str, Any]:
        """Queue the alignment of a project; returns the job."""
        params = {"project_id": project_id, "auto_align": auto_align, "auto_fix": auto_fix}
        return self.runner.submit(ALIGNMENT, params, self.target_for({"kind": ALIGNMENT,
                                                                      "params": params}))

    def submit_training(self, combinations: list[Combination]) -> dict[str, Any]:
        """Queue one job training `combinations` (one project) in order; returns the job."""
        params = {"project_id": combinations[0].project_id,
                  "combinations": [combination.as_json() for combination in combinations]}
        return self.runner.submit(TRAINING, params, self.target_for({"kind": TRAINING,
                                                                     "params": params}))

    def submit_validation(self, combinations: list[Combination],
                          participant_id: str | None = None) -> dict[str, Any]:
        """Queue the validation of `combinations` (optionally one participant only)."""
        params = {"project_id": combinations[0].project_id, "participant_id": participant_id,
                  "combinations": [combination.as_json() for combination in combinations]}
        return self.runner.submit(VALIDATION, params, self.target_for({"kind": VALIDATION,
                                                                       "params": params}))

    def submit_prediction(self, participant_id: str,
                          projects: list[tuple[str, list[Combination], list[list[str]] | None]],
                          strict_features: bool = False) -> dict[str, Any]:
        """Queue inference on a participant's predict data: per project, the combinations to
        use and the predict tags replacing the stored ones (None keeps them);
        `strict_features` refuses predict data lacking training columns."""
        params = {
            "participant_id": participant_id, "strict_features": strict_features,
            "project_ids": [project_id for project_id, _, _ in projects],
            "projects": [{"project_id": project_id, "predict_tags": tags,
                          "combinations": [combination.as_json() for combination in chosen]}
                         for project_id, chosen, tags in projects],
        }
        return self.runner.submit(PREDICTION, params, self.target_for({"kind": PREDICTION,
                                                                       "params": params}))

    def submit_contribution(self, combinations: list[Combination],
                            fields: dict[str, Any]) -> dict[str, Any]:
        """Queue the contributions of trained `combinations`, with run fields `fields`
        (`contribution_metric`, `contribution_method`) overriding the runs'."""
        params = {"project_id": combinations[0].project_id, "fields": fields,
                  "combinations": [combination.as_json() for combination in combinations]}
        return self.runner.submit(CONTRIBUTION, params, self.target_for({
            "kind": CONTRIBUTION, "params": params}))

    def active_job(self, project_id: str) -> dict[str, Any] | None:
        """A queued/running job of `project_id` that uses its Workers, if any."""
        for job in self.runner.list_jobs():
            params = job["params"]
            if job["status"] in ACTIVE and job["kind"] in PROJECT_EXCLUSIVE_KINDS and (
                    params.get("project_id") == project_id
                    or project_id in (params.get("project_ids") or [])):
                return job
        return None

    # ----------------------------------------------------------------- targets
    def target_for(self, job: dict[str, Any]) -> JobTarget:
        """The target running (or resuming) a job of an engine kind."""
        kind = job["kind"]
        targets = {ALIGNMENT: self._align, TRAINING: self._train, VALIDATION: self._validate,
                   PREDICTION: self._predict, CONTRIBUTION: self._contribute}
        if kind not in targets:
            raise ValueError(f"not an engine job kind: {kind!r}")
        return targets[kind]

    def _align(self, context: JobContext) -> dict[str, Any]:
        params = context.params
        project_id = params["project_id"]
        project = read_required(self.env.archive, "Project", {"project_id": project_id},
                                f"project {project_id!r}")
        grid = build_grid(self.env.archive, project_id, self.env.settings.grid)
        clients = [WorkerClient(node, self.env.settings) for node in grid]
        context.report_progress(0, 1, "polling the workers", unit="step")
        try:
            records = align_project(self.env.archive, clients, project_id, project["action"],
                                    self.env.settings.poll_timeout,
                                    auto_align=params.get("auto_align", True),
                                    auto_fix=params.get("auto_fix", True),
                                    cancelled=context.cancelled)
        finally:
            for client in clients:
                client.close()
        context.report_progress(1, 1, "aligned", unit="step")
        return {"alignments": [record["key"] for record in records]}

    def _train(self, context: JobContext) -> dict[str, Any]:
        combinations = _combinations(context.params)
        checkpoint = context.checkpoint or {}
        start = 0
        for index, combination in enumerate(combinations):
            if checkpoint and combination.as_json() == {
                    name: checkpoint.get(name) for name in ("project_id", "expt_id", "run_id")}:
                start = index
        for index in range(start, len(combinations)):
            combination = combinations[index]
            context.raise_if_cancelled()
            label = f"{combination.expt_id}/{combination.run_id}"
            if len(combinations) > 1:
                label += f" ({index + 1} of {len(combinations)})"
            resume = checkpoint if checkpoint and index == start else None
            CombinationTrainer(self.env, context, combination, label, resume).train()
        return {"models": [combination.as_json() for combination in combinations]}

    def _validate(self, context: JobContext) -> dict[str, Any]:
        combinations = _combinations(context.params)
        outcome = []
        for index, combination in enumerate(combinations):
            context.report_progress(index, len(combinations), combination.route, unit="model")
            result = validate_combination(self.env, context, combination,
                                          context.params.get("participant_id"))
            outcome.append({**combination.as_json(), **result})
        context.report_progress(len(combinations), len(combinations), "validated", unit="model")
        return {"validations": outcome}

    def _contribute(self, context: JobContext) -> dict[str, Any]:
        combinations = _combinations(context.params)
        fields = {**(context.params.get("fields") or {}), "contribution": True}
        for index, combination in enumerate(combinations):
            context.raise_if_cancelled()
            label = f"contribution of {combination.route} ({index + 1} of {len(combinations)})"
            CombinationTrainer(self.env, context, combination, label, replay=fields).train()
        return {"contributions": [combination.as_json() for combination in combinations]}

    def _predict(self, context: JobContext) -> dict[str, Any]:
        params = context.params
        participant_id = params["participant_id"]
        total = sum(len(entry["combinations"]) for entry in params["projects"])
        done = 0
        predictions = []
        for entry in params["projects"]:
            context.raise_if_cancelled()
            context.report_progress(done, total, f"realigning {entry['project_id']}",
                                    unit="model")
            requester = realign_for_prediction(self.env, entry["project_id"], participant_id,
                                               entry.get("predict_tags"), context.cancelled)
            for combination in _combinations(entry):
                context.raise_if_cancelled()
                predict_combination(self.env, context, combination, requester,
                                    bool(params.get("strict_features", False)))
                predictions.append(combination.as_json())
                done += 1
                context.report_progress(done, total, combination.route, unit="model")
        return {"participant_id": participant_id, "predictions": predictions}

def _combinations(params: dict[str, Any]) -> list[Combination]:
    return [Combination(**entry) for entry in params["combinations"]]
