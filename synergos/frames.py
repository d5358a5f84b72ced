"""pandas views of results: `.to_frame()` on validation and model envelopes, and
`read_predictions`, which fetches a run's predictions from the participant's own Worker.

pandas is optional (`pip install "synergos[frames]"`): it is imported only when a frame is
asked for, so the Driver itself needs requests and tqdm only.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from synergos.errors import SynergosError, UnreachableError, error_class_for_status

if TYPE_CHECKING:
    import pandas as pd

KEY_COLUMNS = ("project_id", "expt_id", "run_id")


def _pandas() -> Any:
    """The pandas module, or an ImportError saying how to install it."""
    try:
        import pandas
    except ImportError:
        raise ImportError("DataFrames need pandas: pip install \"synergos[frames]\" "
                          "(or pip install pandas)") from None
    return pandas


def _records(envelope: dict[str, Any]) -> list[dict[str, Any]]:
    data = envelope.get("data")
    if isinstance(data, dict):
        return [data]
    return [record for record in data or [] if isinstance(record, dict)]


def _flatten(prefix: str, value: Any, row: dict[str, Any]) -> None:
    """Scalars as they are; per-class lists as `<name>_<k>`; objects as `<name>_<key>`."""
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}_{key}", item, row)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(f"{prefix}_{index}", item, row)
    else:
        row[prefix] = value


class ValidationResults(dict):
    """A validation envelope (`driver.validations.*`) with a DataFrame view."""

    def to_frame(self) -> pd.DataFrame:
        """One row per participant and model: project_id, expt_id, run_id, participant_id,
        n_samples, loss, then each statistic (per-class ones as `<name>_<class index>`)."""
        rows = []
        for record in _records(self):
            key = record.get("key") or {}
            result = record.get("evaluate") or {}
            row: dict[str, Any] = {name: key.get(name) for name in (*KEY_COLUMNS,
                                                                  "participant_id")}
            row["n_samples"] = result.get("n_samples")
            row["loss"] = result.get("loss")
            for name, value in (result.get("statistics") or {}).items():
                _flatten(name, value, row)
            rows.append(row)
        columns = [*KEY_COLUMNS, "participant_id", "n_samples", "loss"]
        return _pandas().DataFrame(rows, columns=None if rows else columns)


class ModelResults(dict):
    """A model envelope (`driver.models.*`) with a DataFrame view."""

    def to_frame(self) -> pd.DataFrame:
        """One row per model and round: project_id, expt_id, run_id, round, train_loss and
        evaluate_loss (global model), then `local_loss_<participant>` per participant."""
        rows = []
        for record in _records(self):
            key = record.get("key") or {}
            history = (record.get("global") or {}).get("loss_history") or {}
            local = {entry.get("origin"): entry.get("loss_history") or {}
                     for name, entry in record.items()
                     if name.startswith("local_") and isinstance(entry, dict)}
            rounds = sorted({int(number) for losses in (history.get("train") or {},
                                                         history.get("evaluate") or {},
                                                         *local.values())
                             for number in losses}, key=int)
            for number in rounds:
                row: dict[str, Any] = {name: key.get(name) for name in KEY_COLUMNS}
                row["round"] = number
                row["train_loss"] = (history.get("train") or {}).get(str(number))
                row["evaluate_loss"] = (history.get("evaluate") or {}).get(str(number))
                for participant_id, losses in sorted(local.items()):
                    row[f"local_loss_{participant_id}"] = losses.get(str(number))
                rows.append(row)
        columns = [*KEY_COLUMNS, "round", "train_loss", "evaluate_loss"]
        return _pandas().DataFrame(rows, columns=None if rows else columns)


def read_predictions(worker_url: str, token: str, project_id: str, expt_id: str, run_id: str,
                     meta: str = "predict", verify: bool | str = True,
                     timeout: float = 60.0) -> pd.DataFrame:
    """A run's predictions as a DataFrame, fetched from the participant's own Worker
    (`GET <worker_url>/worker/predictions/<project_id>/<expt_id>/<run_id>`, its command port,
    with the Worker's token). The row-id column comes first, ids are kept as text.

    Example:
        frame = synergos.read_predictions("http://127.0.0.1:5001", token, "test_project",
                                          "test_experiment", "test_run")
    """
    pandas = _pandas()
    path = "/".join(quote(part, safe="") for part in (project_id, expt_id, run_id))
    url = f"{worker_url.rstrip('/')}/worker/predictions/{path}"
    try:
        response = requests.get(url, params={"meta": meta}, timeout=timeout, verify=verify,
                                headers={"Authorization": f"Bearer {token}"})
    except requests.exceptions.RequestException as error:
        raise UnreachableError(f"could not reach the Worker at {worker_url} ({error})",
                               url=url) from None
    if response.status_code != 200:
        try:
            message = response.json().get("message", response.reason)
        except ValueError:
            message = response.reason
        raise error_class_for_status(response.status_code)(
            message, status=response.status_code, url=url)
    if not response.headers.get("Content-Type", "").startswith("text/csv"):
        raise SynergosError(f"{url} did not answer with CSV", url=url)
    return _predictions_frame(pandas, response.text)


def _predictions_frame(pandas: Any, text: str) -> pd.DataFrame:
    """Parse a predictions CSV: ids, labels and reasons as text, numbers as floats (empty
    for unscored rows)."""
    header = next(csv.reader(io.StringIO(text)), [])
    classify = any(name.startswith("proba_") for name in header)
    numeric = [name for name in header[1:]
               if name.startswith("proba_") or (name == "y_pred" and not classify)]
    text_columns = {name: str for name in header if name not in numeric}
    return pandas.read_csv(io.StringIO(text), dtype=text_columns, keep_default_na=False,
                           na_values={name: [""] for name in numeric})
