"""The study driver: Optuna ask/tell over a `TrialExecutor`, up to N trials at a time.

`StudyDriver(settings, executor).run()` asks Optuna (seeded sampler, in-memory storage) for up
to `settings.concurrency` trials at once (capped by the executor's own `concurrency`), hands
each to the executor on a thread, and tells Optuna each trial's value as soon as it finishes
(so the sampler learns from every result). It stops launching trials after `max_trials`, when the
time budget (`time_budget` seconds) is spent, when `cancelled()` turns true, or when a trial
raises one of `fatal` errors; running trials see the same through their `StopSignal` (a
`threading.Event` whose `is_set()` also turns true on the deadline and on cancellation), so
the engine code they run stops at its next check. A trial that raises while its signal is set
is `stopped`; any other exception makes it `failed` (Optuna: FAIL) and the study goes on.

A basic TTP's executor runs one trial at a time; a Director's can run several across its
cluster TTPs, with the same driver. Optuna is imported when the first study is made, so a
node starts without it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from syncommon.clock import utc_now

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

logger = logging.getLogger(__name__)

SAMPLERS = ("TPESampler", "RandomSampler")
STOPPED_BY_TRIALS = "max_trial_num"
STOPPED_BY_TIME = "max_exec_duration"
STOPPED_BY_CANCEL = "cancelled"
STOPPED_BY_ERROR = "error"


@dataclass(frozen=True)
class TrialRequest:
    """One trial handed to an executor: its 1-based number, its run id and sampled values."""

    number: int
    run_id: str
    params: dict[str, Any]


@dataclass(frozen=True)
class TrialResult:
    """What an executor returns: the metric value and details stored with the trial."""

    value: float
    details: dict[str, Any] = field(default_factory=dict)


class StopSignal(threading.Event):
    """Set when a trial must stop: the study was cancelled, aborted, or ran out of time.

    Pass it wherever the engine expects a cancellation `threading.Event` (only `is_set()`
    is consulted there). `reason` says why, once set.
    """

    def __init__(self, cancelled: Callable[[], bool], deadline: float | None,
                 clock: Callable[[], float]) -> None:
        super().__init__()
        self._cancelled = cancelled
        self._deadline = deadline
        self._clock = clock

    def is_set(self) -> bool:
        """True once the study is cancelled, aborted or past its deadline."""
        return self.reason is not None

    @property
    def reason(self) -> str | None:
        """`cancelled`, `max_exec_duration` or `error` (aborted), or None while running."""
        if self._cancelled():
            return STOPPED_BY_CANCEL
        if super().is_set():
            return STOPPED_BY_ERROR
        if self._deadline is not None and self._clock() >= self._deadline:
            return STOPPED_BY_TIME
        return None


class TrialExecutor(Protocol):
    """Runs trials: `concurrency` says how many it can run at once (1 on a basic TTP)."""

    concurrency: int

    def run_trial(self, request: TrialRequest, stop: StopSignal) -> TrialResult:
        """Train and evaluate one trial; raise to fail it; return when `stop` is set."""


@dataclass(frozen=True)
class StudySettings:
    """What to search and for how long.

    `direction` is `max` or `min`; `time_budget` seconds (None: no limit); `run_id_for(n)`
    names the run of trial n (1-based); `fatal` errors abort the whole study.
    """

    distributions: dict[str, BaseDistribution]
    direction: str = "max"
    max_trials: int = 10
    concurrency: int = 1
    time_budget: float | None = None
    seed: int = 42
    sampler: str = "TPESampler"
    run_id_for: Callable[[int], str] = lambda number: f"optim_run_{number}"
    fatal: tuple[type[BaseException], ...] = ()


@dataclass
class StudyOutcome:
    """The trials (JSON records, in order), the best one, why the study stopped, and the
    fatal error that aborted it (None otherwise)."""

    trials: list[dict[str, Any]]
    best: dict[str, Any] | None
    stop_reason: str
    error: BaseException | None = None


class StudyDriver:
    """Ask/tell loop of one study; `on_change(trials, best)` runs after each start/finish."""

    def __init__(self, settings: StudySettings, executor: TrialExecutor, *,
                 cancelled: Callable[[], bool] = lambda: False,
                 on_change: Callable[[list[dict[str, Any]], dict[str, Any] | None], None]
                 | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if settings.direction not in ("max", "min"):
            raise ValueError(f"direction must be max or min, got {settings.direction!r}")
        if settings.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}")
        self.settings = settings
        self.executor = executor
        self.concurrency = max(1, min(settings.concurrency, executor.concurrency))
        self._cancelled = cancelled
        self._on_change = on_change
        self._clock = clock
        self.trials: list[dict[str, Any]] = []
        self._by_number: dict[int, dict[str, Any]] = {}
        optuna = _optuna()
        self.study = optuna.create_study(
            direction="maximize" if settings.direction == "max" else "minimize",
            sampler=self._sampler(), storage=optuna.storages.InMemoryStorage())

    def _sampler(self) -> optuna.samplers.BaseSampler:
        optuna = _optuna()
        if self.settings.sampler == "RandomSampler":
            return optuna.samplers.RandomSampler(seed=self.settings.seed)
        return optuna.samplers.TPESampler(seed=self.settings.seed,
                                          constant_liar=self.concurrency > 1)

    def run(self) -> StudyOutcome:
        """Run the study to its end and return the outcome (never raises trial errors)."""
        budget = self.settings.time_budget
        signal = StopSignal(self._cancelled, None if budget is None else self._clock() + budget,
                            self._clock)
        running: dict[Future, tuple[optuna.trial.Trial, dict[str, Any]]] = {}
        fatal: BaseException | None = None
        with ThreadPoolExecutor(max_workers=self.concurrency,
                                thread_name_prefix="optim-trial") as pool:
            while True:
                while (signal.reason is None and len(self.trials) < self.settings.max_trials
                       and len(running) < self.concurrency):
                    trial, record = self._ask()
                    request = TrialRequest(record["number"], record["run_id"],
                                           dict(record["params"]))
                    running[pool.submit(self.executor.run_trial, request, signal)] = (
                        trial, record)
                    self._notify()
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    trial, record = running.pop(future)
                    error = self._settle(future, trial, record, signal)
                    if error is not None and fatal is None:
                        fatal = error
                        signal.set()
                    self._notify()
        reason = STOPPED_BY_ERROR if fatal is not None else signal.reason or STOPPED_BY_TRIALS
        return StudyOutcome(self.trials, self.best(), reason, fatal)

    def best(self) -> dict[str, Any] | None:
        """`{number, run_id, params, value}` of the best complete trial, or None."""
        complete = [t for t in self.study.get_trials(deepcopy=False)
                    if t.state == _optuna().trial.TrialState.COMPLETE]
        if not complete:
            return None
        record = self._by_number[self.study.best_trial.number]
        return {name: record[name] for name in ("number", "run_id", "params", "value")}

    # ----------------------------------------------------------------- internals
    def _ask(self) -> tuple[optuna.trial.Trial, dict[str, Any]]:
        trial = self.study.ask(fixed_distributions=self.settings.distributions)
        number = len(self.trials) + 1
        record: dict[str, Any] = {
            "number": number, "run_id": self.settings.run_id_for(number),
            "params": dict(trial.params), "state": "running", "value": None, "error": None,
            "started_at": utc_now(), "finished_at": None, "seconds": None,
            "_started": self._clock(),
        }
        self.trials.append(record)
        self._by_number[trial.number] = record
        return trial, record

    def _settle(self, future: Future, trial: optuna.trial.Trial, record: dict[str, Any],
                signal: StopSignal) -> BaseException | None:
        """Tell Optuna how the trial ended; return the error when it is fatal."""
        failed = _optuna().trial.TrialState.FAIL
        record["finished_at"] = utc_now()
        record["seconds"] = round(self._clock() - record.pop("_started"), 3)
        try:
            result: TrialResult = future.result()
        except BaseException as error:  # the trial's outcome, recorded on it
            stopped = signal.is_set() and not isinstance(error, self.settings.fatal)
            record["state"] = "stopped" if stopped else "failed"
            record["error"] = (f"stopped: {signal.reason}" if stopped
                               else f"{type(error).__name__}: {error}")
            self.study.tell(trial, state=failed)
            if not stopped:
                logger.warning("trial failed", extra={"run_id": record["run_id"],
                                                      "error": record["error"]})
            return error if isinstance(error, self.settings.fatal) else None
        value = result.value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            record.update(state="failed", error=f"trial value is not a finite number: {value!r}")
            self.study.tell(trial, state=failed)
            return None
        record.update(result.details)
        record.update(state="complete", value=float(value))
        self.study.tell(trial, float(value))
        return None

    def _notify(self) -> None:
        if self._on_change is not None:
            public = [{k: v for k, v in t.items() if not k.startswith("_")}
                      for t in self.trials]
            self._on_change(public, self.best())


def _optuna() -> ModuleType:
    """Optuna, imported on first use (warnings only: a log line per trial is noise)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna
