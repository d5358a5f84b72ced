"""The TTP's DP bookkeeping: what a DP reply must report, the round and Model summaries,
the MLflow metrics and the privacy-budget stop."""

from __future__ import annotations

import pytest

from synergos_ttp.engine.privacy_records import (
    BUDGET_STOP,
    budget_stop,
    model_privacy,
    privacy_metrics,
    reply_privacy,
    round_privacy,
)
from synergos_ttp.engine.reply_checks import ReplyRejected

RUN = {"dp": {"mode": "worker", "target_epsilon": 2.0, "noise_multiplier": None,
              "max_grad_norm": 1.0, "delta": 1e-5}}


@pytest.mark.parametrize("header", [{}, {"privacy": None}, {"privacy": {"epsilon": 1.0}},
                                    {"privacy": {"epsilon": -1, "epsilon_next_round": 2}},
                                    {"privacy": {"epsilon": "1", "epsilon_next_round": 2}},
                                    {"privacy": {"epsilon": float("nan"),
                                                 "epsilon_next_round": 2}}])
def test_a_dp_reply_must_say_what_it_spent(header: dict) -> None:
    with pytest.raises(ReplyRejected, match=r"w1.*privacy\.epsilon"):
        reply_privacy("w1", header)


def test_round_and_model_summaries_and_metrics() -> None:
    rounds = []
    for number, spent in ((1, {"a": 0.5, "b": 0.7}), (2, {"a": 0.9, "b": 1.2})):
        participants = {pid: {"status": "ok", "epsilon": value,
                              "epsilon_next_round": value + 0.4}
                        for pid, value in spent.items()}
        participants["c"] = {"status": "failed", "error": "gone"}
        rounds.append({"round": number, "privacy": round_privacy(participants)})
    assert rounds[1]["privacy"] == {"epsilon": {"a": 0.9, "b": 1.2}, "max_epsilon": 1.2}
    summary = model_privacy(RUN, rounds)
    assert summary["epsilon"] == {"a": {"1": 0.5, "2": 0.9}, "b": {"1": 0.7, "2": 1.2}}
    assert summary["max_epsilon"] == 1.2 and summary["mode"] == "worker"
    assert summary["parameters"]["target_epsilon"] == 2.0
    assert privacy_metrics(rounds[1]) == {"a_epsilon": 0.9, "b_epsilon": 1.2,
                                          "max_epsilon": 1.2}
    assert round_privacy({"a": {"status": "ok", "loss": 1.0}}) is None
    assert model_privacy({"dp": None}, rounds) is None


def test_the_budget_stops_when_any_worker_would_pass_the_target() -> None:
    fine = {"a": {"status": "ok", "epsilon_next_round": 1.9},
            "b": {"status": "ok", "epsilon_next_round": 2.0}}
    assert budget_stop(RUN, fine) is None
    over = {**fine, "c": {"status": "ok", "epsilon_next_round": 2.01}}
    assert budget_stop(RUN, over) == BUDGET_STOP
    assert budget_stop({"dp": {**RUN["dp"], "target_epsilon": None}}, over) is None
    assert budget_stop({"dp": None}, over) is None


class FakeTracker:
    """Collects what a replay logs (unit test of pure bookkeeping)."""

    def __init__(self) -> None:
        self.rounds: dict[int, dict[str, float]] = {}

    def start_run(self, *args: object) -> None:
        """Nothing to start."""

    def log_round(self, ids: object, number: int, metrics: dict[str, float]) -> None:
        self.rounds[number] = metrics

    def end_run(self, *args: object, **kwargs: object) -> None:
        """Nothing to end."""


class NoRuns:
    """An archive whose Run was deleted."""

    def table(self, name: str) -> NoRuns:
        return self

    def read(self, key: object, include_relations: bool = False) -> None:
        return None


def test_the_director_replays_the_epsilon_metrics_of_a_cluster_training() -> None:
    from synergos_director.tracking import _track_training

    tracker = FakeTracker()
    model = {"key": {"project_id": "p", "expt_id": "e", "run_id": "r"},
             "details": {"rounds_completed": 1, "global": {"loss_history": {
                 "train": {"1": 0.5}}},
                 "rounds": [{"round": 1, "privacy": {"epsilon": {"a": 0.7},
                                                     "max_epsilon": 0.7}}]}}
    _track_training(tracker, NoRuns(), model)
    assert tracker.rounds[1] == {"global_train_loss": 0.5, "a_epsilon": 0.7,
                                 "max_epsilon": 0.7}
