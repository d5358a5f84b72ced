"""The Model record a training stores: where the final weights are, the global and local
loss histories, every round's report, how the training ended and, with DP, what it spent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synergos_ttp.engine.grid import GridNode
from synergos_ttp.engine.privacy_records import model_privacy


def build_model_record(run: dict[str, Any], history: dict[str, Any], weights: Path,
                       run_dir: Path, grid: list[GridNode],
                       excluded: dict[str, str]) -> dict[str, Any]:
    """The record's details from the run, its training `history`, the saved final `weights`,
    the grid (one `local_<i>` entry per node) and the Workers left out at initialise."""
    record: dict[str, Any] = {
        "global": {"origin": "ttp", "path": str(weights),
                   "loss_history": {"train": history["train"],
                                    "evaluate": history["evaluate"]},
                   "checkpoints": {"folder": str(run_dir / "checkpoints"),
                                   "last_round": history["round"]}},
        "rounds": history["rounds"],
        "algorithm": run["algorithm"],
        "rounds_completed": history["round"],
        "stopped_early": history["stopped_early"],
        "stopped": history.get("stopped") or (
            "early stopping" if history["stopped_early"] else None),
    }
    privacy = model_privacy(run, history["rounds"])
    if privacy is not None:
        record["privacy"] = privacy
    for index, node in enumerate(grid):
        record[f"local_{index}"] = {"origin": node.participant_id, "path": None,
                                    "loss_history": history["local"].get(
                                        node.participant_id, {})}
    if excluded:
        record["excluded_workers"] = excluded
    return record
