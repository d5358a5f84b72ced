"""Prediction files of a run: `predictions_<meta>.csv` (y_pred and score columns) and
`statistics_<meta>.json`, under `<outputs>/<project>/<expt>/<run>/`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synergos_worker.project_store import read_json, write_json_atomic

STATISTICS_FILE = re.compile(r"statistics_(train|evaluate|predict)\.json")


def predictions_frame(y_pred: torch.Tensor, y_score: torch.Tensor) -> pd.DataFrame:
    """`y_pred` plus `score` (one score column) or `score_<k>` (one per class)."""
    scores = y_score.detach().cpu().numpy().astype(np.float64)
    if scores.ndim == 1:
        scores = scores.reshape(-1, 1)
    frame = pd.DataFrame({"y_pred": y_pred.detach().cpu().numpy().reshape(-1)})
    if scores.shape[1] == 1:
        frame["score"] = scores[:, 0]
    else:
        for index in range(scores.shape[1]):
            frame[f"score_{index}"] = scores[:, index]
    return frame


def write_predictions(run_dir: Path, meta: str, y_pred: torch.Tensor, y_score: torch.Tensor,
                      statistics: dict[str, Any]) -> dict[str, str]:
    """Write both files of `meta`; returns `{"res_path", "predictions_path"}`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    predictions_path = run_dir / f"predictions_{meta}.csv"
    temporary = run_dir / f".predictions_{meta}.csv.tmp"
    predictions_frame(y_pred, y_score).to_csv(temporary, index=False)
    temporary.replace(predictions_path)
    statistics_path = run_dir / f"statistics_{meta}.json"
    write_json_atomic(statistics_path, statistics)
    return {"res_path": str(statistics_path), "predictions_path": str(predictions_path)}


def read_predictions(run_dir: Path) -> dict[str, Any]:
    """`{meta: {statistics, res_path, predictions_path}}` of every meta predicted so far."""
    found: dict[str, Any] = {}
    if not run_dir.is_dir():
        return found
    for path in sorted(run_dir.iterdir()):
        match = STATISTICS_FILE.fullmatch(path.name)
        statistics = read_json(path) if match else None
        if match and isinstance(statistics, dict):
            meta = match.group(1)
            predictions_path = run_dir / f"predictions_{meta}.csv"
            found[meta] = {"statistics": statistics, "res_path": str(path),
                           "predictions_path": (str(predictions_path)
                                                if predictions_path.is_file() else None)}
    return found
