"""Prediction files of a run: `predictions_<meta>.csv` and `statistics_<meta>.json`, under
`<outputs>/<project>/<expt>/<run>/`.

The CSV has one line per input row, in input order: the row id first (the dataset's
`id_column`, the image file name, else the 0-based row number), then `y_pred` (the label
value, or the prediction in the target's units), one `proba_<label>` per aligned label
(classification), and `unscored_reason`, empty unless the row could not be scored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from syncommon.files import write_atomically
from synergos_worker.datasets.features import ROW_NUMBER, RowIds
from synergos_worker.datasets.targets import TARGET
from synergos_worker.project_store import read_json, write_json_atomic

STATISTICS_FILE = re.compile(r"statistics_(train|evaluate|predict)\.json")
REASON = "unscored_reason"
LABEL_PREFIX = f"{TARGET}_"


def label_values(y_columns: list[str]) -> list[str]:
    """The label values of aligned label columns (`target_<label>` -> `<label>`)."""
    return [name[len(LABEL_PREFIX):] if name.startswith(LABEL_PREFIX) else name
            for name in y_columns]


def predictions_frame(rows: RowIds | None, n_rows: int, labels: list[str] | None,
                      values: np.ndarray) -> pd.DataFrame:
    """The predictions table: `values` are (N, K) class probabilities over `labels`, or the
    (N,) regression predictions when `labels` is None; unscored rows are put back in place."""
    rows = rows if rows is not None and len(rows.ids) == n_rows else RowIds(
        ROW_NUMBER, [str(index) for index in range(n_rows)])
    scored: dict[str, Any] = {rows.name: rows.ids}
    if labels is None:
        scored["y_pred"] = np.asarray(values, dtype=np.float64).reshape(-1)
    else:
        probabilities = np.asarray(values, dtype=np.float64).reshape(n_rows, len(labels))
        scored["y_pred"] = np.asarray(labels, dtype=object)[probabilities.argmax(axis=1)] if (
            n_rows) else []
        for index, label in enumerate(labels):
            scored[f"proba_{label}"] = probabilities[:, index]
    scored[REASON] = [""] * n_rows
    frame = pd.DataFrame(scored)
    if not rows.unscored:
        return frame
    total = n_rows + len(rows.unscored)
    skipped = {item["position"]: item for item in rows.unscored}
    order = [position for position in range(total) if position not in skipped]
    frame.index = order
    missing = pd.DataFrame({rows.name: [skipped[p]["id"] for p in sorted(skipped)],
                            REASON: [skipped[p]["reason"] for p in sorted(skipped)]},
                           index=sorted(skipped))
    return pd.concat([frame, missing]).sort_index()[list(frame.columns)].reset_index(drop=True)


def write_predictions(run_dir: Path, meta: str, frame: pd.DataFrame,
                      statistics: dict[str, Any]) -> dict[str, str]:
    """Write both files of `meta`; returns `{"res_path", "predictions_path"}`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    predictions_path = run_dir / f"predictions_{meta}.csv"
    write_atomically(predictions_path, frame.to_csv(index=False).encode("utf-8"))
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
