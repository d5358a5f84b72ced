"""`OptimizationService`: hyperparameter optimisation jobs (kind `optimization`) of a TTP.

`submit(project_id, expt_id, request)` queues ONE job on the engine's `JobRunner`; the job
stores an `Optimization` record (key `project_id, expt_id, optim_id`), runs a `StudyDriver`
over a `TrialExecutor` (the basic TTP's `EngineTrialExecutor` by default; a Director passes
its own `executor_factory`), and updates the record after every trial start and finish:
`trials` (`number, run_id, params, value, state, error, participants, started_at,
finished_at, seconds`), `best` (`number, run_id, params, value`), `status`, `stop_reason`.
Trials' runs are `optim_run_<n>`, numbered after the experiment's existing optim runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from synarchive import Archive
from synergos_ttp.engine.combinations import read_required
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.service import FederatedEngine
from synergos_ttp.jobs import JobCancelled, JobContext
from synergos_ttp.optimization.executor import EngineTrialExecutor
from synergos_ttp.optimization.metrics import MetricUnavailable
from synergos_ttp.optimization.request import OptimizationRequest
from synergos_ttp.optimization.search_space import parse_search_space
from synergos_ttp.optimization.study import (
    STOPPED_BY_CANCEL,
    StudyDriver,
    StudySettings,
    TrialExecutor,
)

OPTIMIZATION = "optimization"
TABLE = "Optimization"
RUN_PREFIX = "optim_run_"
_RUN_NUMBER = re.compile(rf"^{RUN_PREFIX}(\d+)$")
_OPTIM_NUMBER = re.compile(r"^optim_(\d+)$")
ACTIVE = ("queued", "running")

ExecutorFactory = Callable[[JobContext, dict[str, Any]], TrialExecutor]


def next_run_number(archive: Archive, project_id: str, expt_id: str) -> int:
    """1 + the highest `optim_run_<n>` of the experiment (1 when there is none)."""
    runs = archive.table("Run").read_all({"project_id": project_id, "expt_id": expt_id},
                                         include_relations=False)
    numbers = [int(match.group(1)) for run in runs
               if (match := _RUN_NUMBER.match(run["key"]["run_id"]))]
    return max(numbers, default=0) + 1


def next_optim_id(archive: Archive, project_id: str, expt_id: str) -> str:
    """`optim_<k>` after the experiment's existing optimisations."""
    records = archive.table(TABLE).read_all({"project_id": project_id, "expt_id": expt_id},
                                            include_relations=False)
    numbers = [int(match.group(1)) for record in records
               if (match := _OPTIM_NUMBER.match(record["key"]["optim_id"]))]
    return f"optim_{max(numbers, default=0) + 1}"


class OptimizationService:
    """Submits and runs optimisation jobs with the engine's archive, runner and settings."""

    def __init__(self, engine: FederatedEngine,
                 executor_factory: ExecutorFactory | None = None) -> None:
        self.engine = engine
        self.env = engine.env
        self.runner = engine.runner
        self.executor_factory = executor_factory or self._engine_executor

    def active_job(self, project_id: str) -> dict[str, Any] | None:
        """A queued/running engine or optimisation job of the project, if any."""
        return self.engine.active_job(project_id)

    def submit(self, project_id: str, expt_id: str,
               request: OptimizationRequest) -> dict[str, Any]:
        """Queue the optimisation; returns the job (params carry the `optim_id`)."""
        optim_id = request.optim_id or next_optim_id(self.env.archive, project_id, expt_id)
        params = {**request.as_params(), "project_id": project_id, "expt_id": expt_id,
                  "optim_id": optim_id}
        return self.runner.submit(OPTIMIZATION, params, self.run)

    # ----------------------------------------------------------------- the job
    def run(self, context: JobContext) -> dict[str, Any]:
        """Job target: the whole study; the result names the best trial."""
        params = context.params
        archive = self.env.archive
        key = {"project_id": params["project_id"], "expt_id": params["expt_id"],
               "optim_id": params["optim_id"]}
        table = archive.table(TABLE)
        table.create(key, {
            "job_id": context.job_id, "status": "running", "stop_reason": None, "error": None,
            **{name: params[name] for name in (
                "search_space", "metric", "optimize_mode", "max_trial_num",
                "trial_concurrency", "max_exec_duration", "searcher", "seed", "base_run_id",
                "base_run")},
            "trials": [], "best": None})
        try:
            outcome = self._study(context, key)
        except BaseException as error:
            cancelled = isinstance(error, JobCancelled)
            table.update(key, {"status": "cancelled" if cancelled else "failed",
                               "error": None if cancelled else f"{error}"})
            raise
        if outcome.stop_reason == STOPPED_BY_CANCEL:
            table.update(key, {"status": "cancelled", "stop_reason": STOPPED_BY_CANCEL})
            raise JobCancelled(f"optimisation {key['optim_id']} cancelled")
        failure = self._failure(outcome)
        table.update(key, {"status": "failed" if failure else "succeeded",
                           "stop_reason": outcome.stop_reason, "error": failure,
                           "trials": outcome.trials, "best": outcome.best})
        if failure:
            raise EngineError(failure)
        return {"optimization": key, "best": outcome.best, "trials": len(outcome.trials),
                "stop_reason": outcome.stop_reason}

    def _study(self, context: JobContext, key: dict[str, str]) -> Any:
        params = context.params
        project_id, expt_id = key["project_id"], key["expt_id"]
        archive = self.env.archive
        read_required(archive, "Experiment", {"project_id": project_id, "expt_id": expt_id},
                      f"experiment {expt_id!r} of project {project_id!r}")
        distributions, errors = parse_search_space(params["search_space"])
        if errors:
            raise EngineError("invalid search space: " + "; ".join(
                f"{path}: {problem}" for path, problem in sorted(errors.items())))
        first = next_run_number(archive, project_id, expt_id)
        executor = self.executor_factory(context, params)
        total = params["max_trial_num"]
        settings = StudySettings(
            distributions=distributions, direction=params["optimize_mode"], max_trials=total,
            concurrency=params["trial_concurrency"], time_budget=params["max_exec_duration"],
            seed=params["seed"], sampler=params["searcher"],
            run_id_for=lambda number: f"{RUN_PREFIX}{first + number - 1}",
            fatal=(MetricUnavailable,))
        table = archive.table(TABLE)

        def on_change(trials: list[dict[str, Any]], best: dict[str, Any] | None) -> None:
            table.update(key, {"trials": trials, "best": best})
            finished = sum(1 for trial in trials if trial["state"] != "running")
            latest = trials[-1] if trials else None
            message = (f"trial {len(trials)} of {total} ({latest['run_id']})"
                       if latest and latest["state"] == "running"
                       else f"{finished} of {total} trials finished")
            context.report_progress(finished, total, message, unit="trial")

        driver = StudyDriver(settings, executor, cancelled=context.cancelled.is_set,
                             on_change=on_change)
        table.update(key, {"concurrency": driver.concurrency,
                           "first_run_id": f"{RUN_PREFIX}{first}"})
        return driver.run()

    @staticmethod
    def _failure(outcome: Any) -> str | None:
        """Why the job fails: a fatal trial error, or no trial completed."""
        if outcome.error is not None:
            return str(outcome.error)
        if outcome.best is None and outcome.trials:
            errors = [trial["error"] for trial in outcome.trials if trial.get("error")]
            return ("no trial completed" + (f"; last error: {errors[-1]}" if errors else ""))
        if not outcome.trials:
            return "no trial ran (the time budget was spent before the first one)"
        return None

    def _engine_executor(self, context: JobContext, params: dict[str, Any]) -> TrialExecutor:
        # `base_run` already holds the base run's fields as they were when the job was posted
        base = dict(params.get("base_run") or {})
        return EngineTrialExecutor(self.env, context, params["project_id"], params["expt_id"],
                                   base, params["metric"], params["max_trial_num"])
