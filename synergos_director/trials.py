"""`ClusterTrialExecutor`: the Director's optimisation trials, several at a time, each trained
and validated by whichever cluster TTP takes its jobs from RabbitMQ."""

from __future__ import annotations

from typing import Any

from synergos_director.dispatch import DispatchingEngine
from synergos_ttp.engine.combinations import Combination
from synergos_ttp.engine.service import TRAINING, VALIDATION
from synergos_ttp.jobs import JobContext
from synergos_ttp.optimization.executor import EngineTrialExecutor
from synergos_ttp.optimization.study import TrialExecutor, TrialRequest


class ClusterTrialExecutor(EngineTrialExecutor):
    """Up to `concurrency` trials at once; each is a training job then a validation job on
    the cluster, under job ids derived from the optimisation job's."""

    def __init__(self, engine: DispatchingEngine, job: JobContext, params: dict[str, Any]
                 ) -> None:
        super().__init__(engine.env, job, params["project_id"], params["expt_id"],
                         dict(params.get("base_run") or {}), params["metric"],
                         params["max_trial_num"])
        self.engine = engine
        self.concurrency = max(1, int(params.get("trial_concurrency") or 1))

    def train_and_validate(self, combination: Combination, request: TrialRequest,
                           context: JobContext) -> None:
        """Publish the trial's training, then its validation, and wait for each."""
        label = f"trial {request.number} of {self.total} ({request.run_id})"
        combinations = [combination.as_json()]

        def report(step: str) -> Any:
            return lambda done, message: context.report_progress(
                0, 1, f"{label}: {step} {message}", unit="trial")

        def training_progress(update: dict[str, Any]) -> None:
            context.report_progress(0, 1, f"{label}: {update.get('message', '')}",
                                    unit="trial")

        base_id = f"{self.job.job_id}-trial-{request.number}"
        self.engine.run_on_cluster(
            TRAINING, {"project_id": combination.project_id, "combinations": combinations},
            f"{base_id}-training", context.cancelled, report("training"), training_progress)
        context.raise_if_cancelled()
        self.engine.run_on_cluster(
            VALIDATION, {"project_id": combination.project_id, "participant_id": None,
                         "combinations": combinations},
            f"{base_id}-validation", context.cancelled, report("validation"))


def cluster_executor_factory(engine: DispatchingEngine) -> Any:
    """The `executor_factory` of the Director's `OptimizationService`."""

    def build(job: JobContext, params: dict[str, Any]) -> TrialExecutor:
        return ClusterTrialExecutor(engine, job, params)

    return build
