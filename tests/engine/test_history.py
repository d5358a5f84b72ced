"""The round history file: rebuilt up to a checkpoint's round, torn or redone lines handled,
and a checkpoint document that stays the same size however many rounds ran."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synergos_ttp.engine.history import (
    checkpoint_document,
    fresh_history,
    history_path,
    restore_history,
    round_line,
    write_round_line,
)


def append_round(run_dir: Path, history: dict[str, Any]) -> None:
    write_round_line(run_dir, round_line(history))


def record(history: dict[str, Any], number: int, loss: float) -> None:
    key = str(number)
    history["round"] = number
    history["train"][key] = loss
    history["evaluate"][key] = loss + 1
    history["local"].setdefault("p1", {})[key] = loss * 2
    history["rounds"].append({"round": number, "participants": {"p1": {"loss": loss * 2}}})
    history["early_stopping"] = {"best_score": -loss, "stale": 0}


def test_a_resume_sees_exactly_the_rounds_its_checkpoint_covers(tmp_path: Path) -> None:
    history = fresh_history(tmp_path)
    documents = []
    for number in range(1, 4):
        record(history, number, 1.0 / number)
        append_round(tmp_path, history)
        documents.append(json.loads(json.dumps(checkpoint_document(history))))
    # a checkpoint holds no per-round lists, so its size does not grow with the rounds
    assert all(set(document) == {"round", "early_stopping", "stopped_early",
                                             "stopped"}
               for document in documents)
    restored = restore_history(tmp_path, documents[1])  # the checkpoint of round 2
    assert restored["round"] == 2 and list(restored["train"]) == ["1", "2"]
    assert restored["local"] == {"p1": {"1": 2.0, "2": 1.0}}
    assert [report["round"] for report in restored["rounds"]] == [1, 2]
    assert restored["early_stopping"] == {"best_score": -0.5, "stale": 0}

    # round 3 is redone after the resume, and a crash tore the line after it
    record(restored, 3, 0.25)
    append_round(tmp_path, restored)
    with open(history_path(tmp_path), "a", encoding="utf-8") as handle:
        handle.write('{"round": 4, "trai')
    again = restore_history(tmp_path, checkpoint_document(restored))
    assert again["train"] == {"1": 1.0, "2": 0.5, "3": 0.25}
    assert [report["round"] for report in again["rounds"]] == [1, 2, 3]

    # the round after the torn line still lands on a line of its own
    record(again, 4, 0.2)
    append_round(tmp_path, again)
    final = restore_history(tmp_path, checkpoint_document(again))
    assert final["train"] == {"1": 1.0, "2": 0.5, "3": 0.25, "4": 0.2}


def test_a_fresh_training_forgets_the_previous_one(tmp_path: Path) -> None:
    history = fresh_history(tmp_path)
    record(history, 1, 1.0)
    append_round(tmp_path, history)
    restarted = fresh_history(tmp_path)
    assert not history_path(tmp_path).exists() and restarted["round"] == 0


def test_a_checkpoint_carrying_the_whole_history_is_used_as_it_is(tmp_path: Path) -> None:
    document = {"round": 1, "train": {"1": 0.5}, "evaluate": {}, "local": {},
                "rounds": [{"round": 1}], "early_stopping": {"best_score": None, "stale": 0},
                "stopped_early": False}
    assert restore_history(tmp_path, document) == document
