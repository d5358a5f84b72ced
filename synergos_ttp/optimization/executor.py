"""`EngineTrialExecutor`: a basic TTP's trials, one at a time, through the federated engine.

Each trial: the sampled values merged into the base run are normalised and stored as Run
`optim_run_<n>` of the experiment, trained across the grid (`CombinationTrainer`), validated
on every participant's evaluate data (`validate_combination`), and its metric read from the
Validation records. The engine code sees a job context whose cancellation event is the trial's
`StopSignal` (job cancelled, time budget spent) and whose progress reads `trial k of N`.
"""

from __future__ import annotations

from typing import Any

from synalgo.run_config import normalise_run
from synergos_ttp.engine.combinations import Combination
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.evaluation import validate_combination
from synergos_ttp.engine.settings import EngineEnv
from synergos_ttp.engine.training import CombinationTrainer
from synergos_ttp.jobs import JobContext
from synergos_ttp.optimization.metrics import extract_metric
from synergos_ttp.optimization.request import IDENTIFIERS
from synergos_ttp.optimization.study import StopSignal, TrialRequest, TrialResult


def trial_run_fields(base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The normalised run of a trial (base fields updated by the sampled values), without
    identifiers; `EngineError` naming the fields a run rejects."""
    run, errors = normalise_run({**base, **params})
    if errors:
        raise EngineError("invalid trial run: " + "; ".join(
            f"{name}: {message}" for name, message in sorted(errors.items())))
    return {name: value for name, value in run.items() if name not in IDENTIFIERS}


class EngineTrialExecutor:
    """Runs trials in sequence on this TTP's grid (`concurrency` 1); subclasses change
    where a trial trains (`train_and_validate`) and how many run at once."""

    concurrency = 1

    def __init__(self, env: EngineEnv, job: JobContext, project_id: str, expt_id: str,
                 base_run: dict[str, Any], metric: str, total: int) -> None:
        self.env = env
        self.job = job
        self.project_id = project_id
        self.expt_id = expt_id
        self.base_run = dict(base_run)
        self.metric = metric
        self.total = total

    def run_trial(self, request: TrialRequest, stop: StopSignal) -> TrialResult:
        """Store, train and validate the trial's run; its value is the averaged metric."""
        combination = Combination(self.project_id, self.expt_id, request.run_id)
        fields = trial_run_fields(self.base_run, request.params)
        self.env.archive.table("Run").create(combination.key, fields)
        context = self._trial_context(request, stop)
        self.train_and_validate(combination, request, context)
        records = self.env.archive.table("Validation").read_all(
            combination.key, include_relations=False)
        measured = extract_metric(records, self.metric)
        return TrialResult(measured.value, {"participants": measured.participants})

    def train_and_validate(self, combination: Combination, request: TrialRequest,
                           context: JobContext) -> None:
        """Train the trial's run across this TTP's grid, then validate it (Validation
        records land in the archive)."""
        label = f"trial {request.number} of {self.total} ({request.run_id})"
        CombinationTrainer(self.env, context, combination, label).train()
        context.raise_if_cancelled()
        validate_combination(self.env, context, combination)

    def _trial_context(self, request: TrialRequest, stop: StopSignal) -> JobContext:
        """A context for the engine code: stops on `stop`, reports `trial k of N: ...`."""
        parent = self.job
        done = request.number - 1

        def update(changes: dict[str, Any]) -> None:
            progress = changes.get("progress")
            if progress:  # checkpoints of a trial are not resumable: not stored on the job
                parent.report_progress(done, self.total, progress["message"], unit="trial")

        return JobContext(job_id=parent.job_id, kind=parent.kind, params=parent.params,
                          archive=parent.archive, cancelled=stop, update_record=update)
