"""A training's round history (losses and round reports), kept beside its checkpoints.

Each finished round appends one fsync'ed JSON line to `<run_dir>/checkpoints/rounds.jsonl`,
and a checkpoint only records its round number and early-stopping state. Writing the whole
history into every checkpoint would cost O(R) per round, O(R^2) over a long training. On
resume the history is rebuilt from the lines up to the checkpoint's round: a line written
for a round whose checkpoint never landed (a crash in between) is ignored, and when a round is
redone its later line wins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncommon.files import append_durably

HISTORY_FILE = "rounds.jsonl"
_CHECKPOINT_FIELDS = ("round", "early_stopping", "stopped_early", "stopped")


def history_path(run_dir: Path) -> Path:
    """Where the round lines of a run live."""
    return run_dir / "checkpoints" / HISTORY_FILE


def fresh_history(run_dir: Path) -> dict[str, Any]:
    """Round 0's history; forgets the lines of an earlier training of the same run."""
    history_path(run_dir).unlink(missing_ok=True)
    return {"round": 0, "train": {}, "evaluate": {}, "local": {}, "rounds": [],
            "early_stopping": {"best_score": None, "stale": 0}, "stopped_early": False,
            "stopped": None}


def round_line(history: dict[str, Any]) -> dict[str, Any]:
    """The line of the round just recorded in `history` (its number is `history["round"]`)."""
    key = str(history["round"])
    return {"round": history["round"], "train": history["train"].get(key),
            "evaluate": history["evaluate"].get(key),
            "local": {pid: losses[key] for pid, losses in history["local"].items()
                      if key in losses},
            "report": history["rounds"][-1]}


def write_round_line(run_dir: Path, line: dict[str, Any]) -> None:
    """Append one round's line (from `round_line`) to the run's history file, fsync'ed."""
    path = history_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    append_durably(path, (json.dumps(line, allow_nan=False) + "\n").encode("utf-8"))


def checkpoint_document(history: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint stores of the history: the round and the early-stopping state."""
    return {name: history.get(name) for name in _CHECKPOINT_FIELDS}


def restore_history(run_dir: Path, document: dict[str, Any]) -> dict[str, Any]:
    """The history as it was at the checkpoint's round (`document` from the checkpoint)."""
    if "rounds" in document:  # a checkpoint that carried the whole history itself
        return document
    latest = int(document["round"])
    lines: dict[int, dict[str, Any]] = {}
    path = history_path(run_dir)
    if path.exists():
        content = path.read_text(encoding="utf-8")
        if content and not content.endswith("\n"):  # a crash cut the last line: the
            append_durably(path, b"\n")  # next round's line must start on a line of its own
        for text in content.splitlines():
            try:
                line = json.loads(text)
            except ValueError:  # a torn last line: its round has no checkpoint either
                continue
            if isinstance(line, dict) and 1 <= int(line.get("round", 0)) <= latest:
                lines[int(line["round"])] = line
    history: dict[str, Any] = {"train": {}, "evaluate": {}, "local": {}, "rounds": [],
               **{name: document.get(name) for name in _CHECKPOINT_FIELDS}}
    for number in sorted(lines):
        line, key = lines[number], str(number)
        if line.get("train") is not None:
            history["train"][key] = line["train"]
        if line.get("evaluate") is not None:
            history["evaluate"][key] = line["evaluate"]
        for pid, loss in (line.get("local") or {}).items():
            history["local"].setdefault(pid, {})[key] = loss
        history["rounds"].append(line["report"])
    return history
