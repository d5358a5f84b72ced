"""The write-behind round writer: rounds land in order with their job record, whatever way
the training leaves, and a failed write stops the training with a clear error."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch

from synergos_ttp.engine.checkpoints import checkpoint_path, load_checkpoint
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.history import fresh_history, restore_history
from synergos_ttp.engine.round_writer import RoundWriter
from synergos_ttp.jobs.context import JobContext


def job_context(updates: list[dict[str, Any]]) -> JobContext:
    return JobContext(job_id="job", kind="training", params={}, archive=None,
                      cancelled=threading.Event(), update_record=updates.append)


def finish_round(history: dict[str, Any], number: int) -> None:
    history["round"] = number
    history["train"][str(number)] = 1.0 / number
    history["rounds"].append({"round": number})


def submit(writer: RoundWriter, history: dict[str, Any], number: int, total: int) -> None:
    finish_round(history, number)
    writer.submit(number, total, {"w": torch.full((3,), float(number))}, {}, history,
                  f"round {number} of {total}")


def test_every_round_is_durable_in_order_when_the_block_ends(tmp_path: Path) -> None:
    updates: list[dict[str, Any]] = []
    history = fresh_history(tmp_path)
    with RoundWriter(tmp_path, job_context(updates), {"run_id": "r"}) as writer:
        for number in range(1, 6):
            submit(writer, history, number, 5)
    # one job-record write per round, carrying the checkpoint and the progress together
    assert [update["checkpoint"]["round"] for update in updates] == [1, 2, 3, 4, 5]
    assert all(update["progress"]["current"] == update["checkpoint"]["round"]
               and update["checkpoint"]["run_id"] == "r" for update in updates)
    last = Path(updates[-1]["checkpoint"]["path"])
    state, _, document = load_checkpoint(last)
    assert torch.equal(state["w"], torch.full((3,), 5.0))
    assert restore_history(tmp_path, document)["train"] == {
        str(k): 1.0 / k for k in range(1, 6)}
    assert sorted(path.name for path in last.parent.glob("*.safetensors")) == [
        "round_4.safetensors", "round_5.safetensors"]


def test_a_training_that_stops_still_leaves_its_finished_rounds(tmp_path: Path) -> None:
    updates: list[dict[str, Any]] = []
    history = fresh_history(tmp_path)
    with pytest.raises(KeyboardInterrupt), \
            RoundWriter(tmp_path, job_context(updates), {}) as writer:
        submit(writer, history, 1, 3)
        submit(writer, history, 2, 3)
        raise KeyboardInterrupt  # cancelled, failed or interrupted right after round 2
    assert updates[-1]["checkpoint"]["round"] == 2
    assert checkpoint_path(tmp_path, 2).exists()


def test_a_failed_write_stops_the_training(tmp_path: Path) -> None:
    history = fresh_history(tmp_path)
    blocker = tmp_path / "checkpoints" / "round_1.safetensors"
    blocker.mkdir(parents=True)  # a directory where the checkpoint file must go
    with pytest.raises(EngineError, match="could not save a round checkpoint"), \
            RoundWriter(tmp_path, job_context([]), {}) as writer:
        submit(writer, history, 1, 3)
        for number in range(2, 4):  # a later submit or the block's end reports it
            submit(writer, history, number, 3)
    assert not checkpoint_path(tmp_path, 2).exists()  # nothing is written after a failure
