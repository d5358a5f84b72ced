"""MLflow tracking of federated runs.

Mapping: MLflow experiment `<project_id>/<expt_id>`, MLflow run named `<run_id>`; params = the
normalised run; metrics `global_train_loss`, `global_evaluate_loss` and
`<participant_id>_local_loss` with step = round; validation statistics as
`<participant_id>_<metric>` (list statistics as `<participant_id>_<metric>_class_<i>`); the
final weights (safetensors) as an artifact. The MLflow run of each combination is remembered
in the archive's `MLflow` table (name `<p>/<e>/<r>`), so a resumed training keeps its run and
validation lands in the training's run.

Tracking never slows down or breaks training: every call is queued to one background thread
(in order) and returns at once; MLflow errors are logged as warnings and dropped. `flush()`
waits for the queue (the TTP flushes on shutdown).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synarchive import Archive
from syncommon.files import held_lock
from synergos_ttp.tracking.store_template import seed_store

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

logger = logging.getLogger(__name__)
MAPPING_TABLE = "MLflow"
_SQLITE_PREFIX = "sqlite:///"
_BATCH = 500
ROUND_BATCH_SECONDS = 1.0
_DATABASE_SCHEMES = frozenset({"sqlite", "postgresql", "mysql", "mssql"})


def metric_items(prefix: str, statistics: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """`(name, value)` pairs of the finite numbers in `statistics`: scalars as
    `<prefix>_<metric>`, lists as `<prefix>_<metric>_class_<i>`."""
    for name, value in statistics.items():
        if _is_number(value):
            yield f"{prefix}_{name}", float(value)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if _is_number(item):
                    yield f"{prefix}_{name}_class_{index}", float(item)


def round_metrics(train_loss: float | None, evaluate_loss: float | None,
                  local_losses: dict[str, float]) -> dict[str, float]:
    """The metrics of one round: global losses and `<participant_id>_local_loss`."""
    metrics: dict[str, Any] = {"global_train_loss": train_loss,
                               "global_evaluate_loss": evaluate_loss}
    metrics.update({f"{pid}_local_loss": loss for pid, loss in local_losses.items()})
    return {name: float(value) for name, value in metrics.items() if _is_number(value)}


class MlflowTracker:
    """Queues runs, metrics and artifacts for one MLflow tracking store (thread-safe).

    Combinations are addressed by `(project_id, expt_id, run_id)`; `start_run` must come
    first for a training (it reuses the stored run when `resume` is true).
    """

    def __init__(self, tracking_uri: str, archive: Archive | None = None,
                 artifact_root: Path | None = None,
                 round_batch_seconds: float = ROUND_BATCH_SECONDS) -> None:
        self.tracking_uri = tracking_uri
        self.round_batch_seconds = round_batch_seconds
        self.archive = archive
        self.artifact_root = artifact_root or _default_artifact_root(tracking_uri)
        self._client: Any = None
        self._queue = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self._started: dict[tuple[str, str, str], str] = {}  # background thread only
        self._rounds: dict[tuple[str, str, str], list[tuple[int, dict[str, float]]]] = {}
        self._hurry = threading.Event()  # set: write waiting rounds now

    # ----------------------------------------------------------------- public (queued)
    def warm_up(self) -> None:
        """Import MLflow and open (create) the store on the tracking thread, ahead of the
        first run. Nodes call it once they serve: `/health` does not wait for MLflow's
        imports (1.5 s of CPU or more), which a training started at once shares the CPU with."""

        def import_and_open() -> None:
            try:
                import_mlflow(self.tracking_uri)
            except Exception as error:  # tracking must never stop the node; calls will warn
                logger.warning("MLflow could not be imported: %s", error)
                return
            self._mlflow().search_experiments(max_results=1)

        self._submit("open the tracking store", import_and_open)

    def start_run(self, project_id: str, expt_id: str, run_id: str, params: dict[str, Any],
                  resume: bool = False) -> None:
        """Create the MLflow run of a training (or, with `resume`, keep the stored one)."""
        combination = (project_id, expt_id, run_id)
        self._submit("start run", lambda: self._start(combination, params, resume))

    def log_round(self, combination: tuple[str, str, str], round_number: int,
                  metrics: dict[str, float]) -> None:
        """Metrics of one round (step = round number). Rounds are written together: at most
        one MLflow write per `round_batch_seconds`, sooner when anything else is tracked
        or flushed (one sqlite write per round costs a fast round about as much as its
        training)."""
        with self._lock:
            waiting = self._rounds.setdefault(combination, [])
            waiting.append((round_number, metrics))
            if len(waiting) > 1:  # a write for this combination is queued and not yet run
                return
            self._hurry.clear()
            due = time.monotonic() + self.round_batch_seconds
        self._submit("log rounds", lambda: self._log_rounds(combination, due))

    def log_validation(self, combination: tuple[str, str, str], participant_id: str,
                       statistics: dict[str, Any]) -> None:
        """One participant's validation statistics, in the combination's run."""
        metrics = dict(metric_items(participant_id, statistics))
        self._hurry.set()
        self._submit("log validation", lambda: self._log(combination, metrics, 0))

    def log_contribution(self, combination: tuple[str, str, str], totals: dict[str, float],
                         shares: dict[str, float]) -> None:
        """Each participant's total contribution Φ and share, in the combination's run."""
        metrics = {f"{pid}_contribution": float(value) for pid, value in totals.items()}
        metrics.update({f"{pid}_contribution_share": float(value)
                        for pid, value in shares.items()})
        self._hurry.set()
        self._submit("log contribution", lambda: self._log(combination, metrics, 0))

    def log_artifact(self, combination: tuple[str, str, str], path: Path) -> None:
        """Attach a file (e.g. the final weights) to the combination's run."""
        self._hurry.set()
        self._submit("log artifact", lambda: self._mlflow().log_artifact(
            self._run_id(combination), str(path)))

    def end_run(self, combination: tuple[str, str, str], succeeded: bool) -> None:
        """Mark the combination's run FINISHED or FAILED."""
        status = "FINISHED" if succeeded else "FAILED"
        self._hurry.set()
        self._submit("end run", lambda: self._mlflow().set_terminated(
            self._run_id(combination), status=status))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued call ran; False when `timeout` passed first."""
        self._hurry.set()
        with self._lock:
            pending = list(self._pending)
        _, not_done = wait_futures(pending, timeout=timeout)
        return not not_done

    def close(self, timeout: float | None = 10.0) -> None:
        """Flush (at most `timeout` seconds) and stop the background thread."""
        self.flush(timeout)
        self._queue.shutdown(wait=False, cancel_futures=True)

    def run_of(self, project_id: str, expt_id: str, run_id: str) -> str | None:
        """The MLflow run id stored for a combination in this store, if any."""
        if self.archive is None:
            return None
        record = self.archive.table(MAPPING_TABLE).read(
            {"name": _mapping_name((project_id, expt_id, run_id))}, include_relations=False)
        if record and record.get("mlflow_uri") == self.tracking_uri:
            return record.get("mlflow_id")
        return None

    # ----------------------------------------------------------------- background work
    def _submit(self, what: str, work: Callable[[], Any]) -> None:
        def guarded() -> None:
            """Run `work`, logging (never raising) its failure."""
            try:
                work()
            except Exception as error:  # tracking must never break the engine
                logger.warning("MLflow tracking failed (%s) at %s: %s", what,
                               _redacted(self.tracking_uri), error)

        with self._lock:
            try:
                future = self._queue.submit(guarded)
            except RuntimeError:  # shut down: nothing is tracked any more
                return
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def _mlflow(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient  # heavy import: only when tracking

            with store_creation_lock(self.tracking_uri):  # the store is created or migrated
                database = _sqlite_path(self.tracking_uri)  # on its first use
                if database is not None:
                    seed_store(database, self.artifact_root)
                client = MlflowClient(tracking_uri=self.tracking_uri)
                client.search_experiments(max_results=1)
            self._client = client
        return self._client

    def _start(self, combination: tuple[str, str, str], params: dict[str, Any],
               resume: bool) -> None:
        if resume and self.run_of(*combination) is not None:
            return
        project_id, expt_id, run_id = combination
        client = self._mlflow()
        experiment_id = self._experiment_id(f"{project_id}/{expt_id}")
        run = client.create_run(experiment_id, run_name=run_id, tags={
            "synergos.project_id": project_id, "synergos.expt_id": expt_id,
            "synergos.run_id": run_id})
        from mlflow.entities import Param  # heavy import: only when tracking

        items = [Param(str(key), str(value)[:6000]) for key, value in sorted(params.items())]
        for start in range(0, len(items), 100):
            client.log_batch(run.info.run_id, params=items[start:start + 100])
        if self.archive is not None:
            self.archive.table(MAPPING_TABLE).create(
                {"name": _mapping_name(combination)},
                {"mlflow_type": "run", "mlflow_id": run.info.run_id,
                 "mlflow_uri": self.tracking_uri, "experiment_id": experiment_id})
        self._started[combination] = run.info.run_id

    def _run_id(self, combination: tuple[str, str, str]) -> str:
        run_id = self._started.get(combination) or self.run_of(*combination)
        if run_id is None:
            self._start(combination, {}, resume=False)
            run_id = self._started[combination]
        return run_id

    def _log_rounds(self, combination: tuple[str, str, str], due: float) -> None:
        self._hurry.wait(max(0.0, due - time.monotonic()))
        with self._lock:
            rounds = self._rounds.pop(combination, [])
        self._log_steps(combination, rounds)

    def _log(self, combination: tuple[str, str, str], metrics: dict[str, float],
             step: int) -> None:
        self._log_steps(combination, [(step, metrics)])

    def _log_steps(self, combination: tuple[str, str, str],
                   steps: list[tuple[int, dict[str, float]]]) -> None:
        from mlflow.entities import Metric  # heavy import: only when tracking

        now = int(time.time() * 1000)
        items = [Metric(key, value, now, int(step))
                 for step, metrics in steps for key, value in metrics.items()]
        if not items:
            return
        run_id = self._run_id(combination)
        for start in range(0, len(items), _BATCH):
            self._mlflow().log_batch(run_id, metrics=items[start:start + _BATCH])

    def _experiment_id(self, name: str) -> str:
        client = self._mlflow()
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        location = None
        if self.artifact_root is not None:
            location = (self.artifact_root / name.replace("/", "__")).resolve().as_uri()
        return client.create_experiment(name, artifact_location=location)


def import_mlflow(tracking_uri: str) -> None:
    """Import MLflow's client, and the store module of `tracking_uri` (which MLflow would
    import on the client's first use)."""
    from mlflow.tracking import MlflowClient  # noqa: F401 - imported for its side effect

    if tracking_uri.split(":", 1)[0].split("+", 1)[0] in _DATABASE_SCHEMES:
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401


@contextmanager
def store_creation_lock(tracking_uri: str) -> Iterator[None]:
    """Hold an exclusive lock beside a sqlite store while it is opened: MLflow creates and
    migrates its tables on first open, and two processes doing that at once (a Director and
    its cluster TTPs sharing one outputs folder) break the store for both."""
    database = _sqlite_path(tracking_uri)
    if database is None:
        yield  # a tracking server migrates its own database
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    with held_lock(f"{database}.lock"):
        yield


def _mapping_name(combination: tuple[str, str, str]) -> str:
    return "/".join(combination)


def _default_artifact_root(tracking_uri: str) -> Path | None:
    database = _sqlite_path(tracking_uri)
    return None if database is None else database.parent / "mlflow-artifacts"


def _sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///` store, None for any other store."""
    if tracking_uri.startswith(_SQLITE_PREFIX):
        return Path(tracking_uri[len(_SQLITE_PREFIX):])
    return None


def _redacted(uri: str) -> str:
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if rest else uri


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
