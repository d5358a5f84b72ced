"""The study driver: ask/tell with real feedback, seeded sampling, concurrency through the
executor seam, failures, fatal errors, the time budget and cancellation."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from optuna.trial import TrialState

from synergos_ttp.optimization.metrics import MetricUnavailable
from synergos_ttp.optimization.search_space import parse_search_space
from synergos_ttp.optimization.study import (
    StopSignal,
    StudyDriver,
    StudySettings,
    TrialRequest,
    TrialResult,
)

SPACE, _ = parse_search_space({"lr": {"_type": "uniform", "_value": [0.0, 1.0]},
                               "epochs": {"_type": "randint", "_value": [1, 5]}})


def score(params: dict[str, Any]) -> float:
    """A smooth objective with its maximum at lr = 0.3, epochs = 2."""
    return -((params["lr"] - 0.3) ** 2) - 0.01 * (params["epochs"] - 2) ** 2


class FakeExecutor:
    """Scores trials with `score`; optional behaviour per trial number."""

    def __init__(self, concurrency: int = 1, pause: float = 0.0,
                 fail: dict[int, BaseException] | None = None) -> None:
        self.concurrency = concurrency
        self.pause = pause
        self.fail = fail or {}
        self.requests: list[TrialRequest] = []
        self.running = 0
        self.most_running = 0
        self.lock = threading.Lock()

    def run_trial(self, request: TrialRequest, stop: StopSignal) -> TrialResult:
        with self.lock:
            self.requests.append(request)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            time.sleep(self.pause)
            if request.number in self.fail:
                raise self.fail[request.number]
            return TrialResult(score(request.params), {"participants": {"p1": 1.0}})
        finally:
            with self.lock:
                self.running -= 1


def test_six_sequential_trials_are_told_back_and_the_best_is_the_max() -> None:
    changes: list[int] = []
    executor = FakeExecutor()
    driver = StudyDriver(StudySettings(SPACE, "max", max_trials=6), executor,
                         on_change=lambda trials, best: changes.append(len(trials)))
    outcome = driver.run()
    assert [t["run_id"] for t in outcome.trials] == [f"optim_run_{n}" for n in range(1, 7)]
    assert all(t["state"] == "complete" for t in outcome.trials)
    assert [t["value"] for t in outcome.trials] == [score(t["params"]) for t in outcome.trials]
    # Optuna got every value back
    told = driver.study.get_trials()
    assert [t.state for t in told] == [TrialState.COMPLETE] * 6
    assert [t.value for t in told] == [t["value"] for t in outcome.trials]
    best = max(outcome.trials, key=lambda t: t["value"])
    assert outcome.best == {name: best[name] for name in ("number", "run_id", "params",
                                                          "value")}
    assert outcome.stop_reason == "max_trial_num" and outcome.error is None
    assert executor.most_running == 1
    assert changes and changes[-1] == 6
    assert outcome.trials[0]["participants"] == {"p1": 1.0}


def test_min_direction_reports_the_smallest_value() -> None:
    outcome = StudyDriver(StudySettings(SPACE, "min", max_trials=5), FakeExecutor()).run()
    assert outcome.best["value"] == min(t["value"] for t in outcome.trials)


def test_the_seeded_sampler_is_reproducible_and_learns() -> None:
    def params(seed: int) -> list[dict[str, Any]]:
        settings = StudySettings(SPACE, "max", max_trials=4, seed=seed)
        return [t["params"] for t in StudyDriver(settings, FakeExecutor()).run().trials]

    assert params(7) == params(7)
    assert params(7) != params(8)
    # TPE with feedback beats its own random start-up trials on this objective
    settings = StudySettings(SPACE, "max", max_trials=40, seed=3)
    trials = StudyDriver(settings, FakeExecutor()).run().trials
    first, last = trials[:10], trials[-10:]
    assert max(t["value"] for t in last) >= max(t["value"] for t in first)
    assert abs(max(trials, key=lambda t: t["value"])["params"]["lr"] - 0.3) < 0.1


def test_trials_run_in_parallel_up_to_the_requested_concurrency() -> None:
    executor = FakeExecutor(concurrency=8, pause=0.2)
    settings = StudySettings(SPACE, "max", max_trials=7, concurrency=3)
    outcome = StudyDriver(settings, executor).run()
    assert executor.most_running == 3
    assert len(outcome.trials) == 7 and all(t["state"] == "complete" for t in outcome.trials)
    assert sorted(t["number"] for t in outcome.trials) == list(range(1, 8))


def test_the_executor_caps_the_concurrency() -> None:
    executor = FakeExecutor(concurrency=1, pause=0.05)
    driver = StudyDriver(StudySettings(SPACE, "max", max_trials=4, concurrency=4), executor)
    driver.run()
    assert driver.concurrency == 1 and executor.most_running == 1


def test_a_failed_trial_is_recorded_and_the_study_goes_on() -> None:
    executor = FakeExecutor(fail={2: RuntimeError("worker p2 unreachable")})
    driver = StudyDriver(StudySettings(SPACE, "max", max_trials=4), executor)
    outcome = driver.run()
    assert [t["state"] for t in outcome.trials] == ["complete", "failed", "complete",
                                                   "complete"]
    assert "worker p2 unreachable" in outcome.trials[1]["error"]
    assert outcome.trials[1]["value"] is None
    assert driver.study.get_trials()[1].state == TrialState.FAIL
    assert outcome.best["number"] != 2 and outcome.error is None


def test_a_fatal_error_aborts_the_study() -> None:
    executor = FakeExecutor(fail={1: MetricUnavailable("metric 'R2' is missing")})
    settings = StudySettings(SPACE, "max", max_trials=6, fatal=(MetricUnavailable,))
    outcome = StudyDriver(settings, executor).run()
    assert len(outcome.trials) == 1 and outcome.stop_reason == "error"
    assert isinstance(outcome.error, MetricUnavailable) and outcome.best is None


def test_non_finite_values_fail_the_trial() -> None:
    class NaNExecutor(FakeExecutor):
        def run_trial(self, request: TrialRequest, stop: StopSignal) -> TrialResult:
            return TrialResult(float("nan"))

    outcome = StudyDriver(StudySettings(SPACE, "max", max_trials=2), NaNExecutor()).run()
    assert [t["state"] for t in outcome.trials] == ["failed", "failed"]
    assert outcome.best is None


class Clock:
    """A fake monotonic clock the executor advances."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_time_budget_stops_new_trials_and_interrupts_the_running_one() -> None:
    clock = Clock()

    class Slow(FakeExecutor):
        def run_trial(self, request: TrialRequest, stop: StopSignal) -> TrialResult:
            for _ in range(4):  # 4 "rounds" of 1 s, checking the signal like the engine
                if stop.is_set():
                    raise RuntimeError("stopped during a round")
                clock.now += 1.0
            return TrialResult(score(request.params))

    settings = StudySettings(SPACE, "max", max_trials=10, time_budget=10.0)
    outcome = StudyDriver(settings, Slow(), clock=clock).run()
    assert [t["state"] for t in outcome.trials] == ["complete", "complete", "stopped"]
    assert outcome.trials[2]["error"] == "stopped: max_exec_duration"
    assert outcome.stop_reason == "max_exec_duration"
    assert outcome.best["number"] in (1, 2)


def test_cancellation_stops_the_running_trial_and_the_study() -> None:
    cancelled = threading.Event()

    class Cancelling(FakeExecutor):
        def run_trial(self, request: TrialRequest, stop: StopSignal) -> TrialResult:
            if request.number == 2:
                cancelled.set()
            if stop.is_set():
                raise RuntimeError("cancelled")
            return TrialResult(score(request.params))

    outcome = StudyDriver(StudySettings(SPACE, "max", max_trials=6), Cancelling(),
                          cancelled=cancelled.is_set).run()
    assert [t["state"] for t in outcome.trials] == ["complete", "stopped"]
    assert outcome.stop_reason == "cancelled"


def test_stop_signal_reasons() -> None:
    clock = Clock()
    flag = threading.Event()
    signal = StopSignal(flag.is_set, deadline=5.0, clock=clock)
    assert not signal.is_set() and signal.reason is None
    clock.now = 5.0
    assert signal.is_set() and signal.reason == "max_exec_duration"
    flag.set()
    assert signal.reason == "cancelled"
    other = StopSignal(lambda: False, None, clock)
    other.set()
    assert other.is_set() and other.reason == "error"


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="direction"):
        StudyDriver(StudySettings(SPACE, "sideways"), FakeExecutor())
    with pytest.raises(ValueError, match="sampler"):
        StudyDriver(StudySettings(SPACE, sampler="GridSampler"), FakeExecutor())
