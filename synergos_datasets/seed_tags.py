"""The tag layout of the seeds' Driver example, written for one tabular dataset (breast_cancer).

Under `party_<n>/<dataset>/` (a tag is the unique folder holding all of its tokens):

- `non_iid_<n>`: party n's share of the training rows, label-skewed (each class gives 70 % of
  its rows to one party);
- `iid_<n>`: party n's IID share of the held-out test rows (the seeds' evaluate/predict tag);
- party 1 only, each a disjoint slice of its training share:
  `edge_test_missing_coecerable_vals` (numeric cells written as text that is no number, or
  blank: the Worker coerces them to missing values and counts them),
  `edge_test_misalign` (without some of the columns its other tags have),
  `edge_test_na_slices` (blocks of consecutive rows missing a run of columns).

Every party also keeps the dataset's own missing columns (`columns_absent`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synergos_datasets.partition import partition_iid, partition_label_skew

EDGE_TAGS = ("edge_test_missing_coecerable_vals", "edge_test_misalign", "edge_test_na_slices")
EDGE_SHARE = 0.15  # of party 1's training rows, per edge-test tag
MISALIGNED_COLUMNS = ("mean_area", "worst_radius", "size_band")
NOT_A_NUMBER = ("?", "unknown", "")  # as written into numeric cells
UNPARSABLE_SHARE = 0.15
NA_SLICE_ROWS = 8  # rows per NA slice
NA_SLICE_COLUMNS = 6


def seed_tags(parties: int) -> dict[str, list[str]]:
    """Party folder name -> the seeds' tags written for it."""
    return {f"party_{n}": [f"non_iid_{n}", f"iid_{n}", *(EDGE_TAGS if n == 1 else ())]
            for n in range(1, parties + 1)}


def seed_tag_frames(frame: pd.DataFrame, train_rows: np.ndarray, test_rows: np.ndarray,
                    columns_absent: dict[int, list[str]], parties: int, seed: int
                    ) -> dict[str, dict[str, pd.DataFrame]]:
    """The rows of every seeds' tag folder: `{party: {tag: rows}}` (party `party_<n>`)."""
    labels = frame["target"].to_numpy()[train_rows]
    skewed = (partition_label_skew(labels, parties, seed) if parties > 1
              else [np.arange(len(train_rows))])
    iid = partition_iid(len(test_rows), parties, seed + 2)
    rng = np.random.default_rng(seed + 3)
    frames: dict[str, dict[str, pd.DataFrame]] = {}
    for number in range(1, parties + 1):
        party_train = frame.iloc[train_rows[skewed[number - 1]]]
        folders = {f"iid_{number}": frame.iloc[test_rows[iid[number - 1]]]}
        if number == 1:
            edges = _edge_frames(party_train, rng)
            folders.update(edges)
            party_train = party_train.drop(index=[i for f in edges.values() for i in f.index])
        folders[f"non_iid_{number}"] = party_train
        absent = columns_absent.get(number, [])
        frames[f"party_{number}"] = {
            tag: rows.drop(columns=[c for c in absent if c in rows])
            for tag, rows in sorted(folders.items())}
    return frames


def _edge_frames(train: pd.DataFrame, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Three disjoint slices of party 1's training rows, each with its edge case."""
    size = max(NA_SLICE_ROWS * 2, round(EDGE_SHARE * len(train)))
    order = rng.permutation(len(train))
    slices = [np.sort(order[k * size:(k + 1) * size]) for k in range(len(EDGE_TAGS))]
    missing, misaligned, na_slices = (train.iloc[rows].copy() for rows in slices)
    return {
        EDGE_TAGS[0]: _with_unparsable_cells(missing, rng),
        EDGE_TAGS[1]: misaligned.drop(columns=list(MISALIGNED_COLUMNS)),
        EDGE_TAGS[2]: _with_na_slices(na_slices),
    }


def _numeric_features(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns
            if c != "target" and pd.api.types.is_numeric_dtype(frame[c])]


def _with_unparsable_cells(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Numeric cells replaced by text that is no number (or left blank), in three columns."""
    for column in _numeric_features(frame)[:3]:
        text = frame[column].astype(object)
        hit = rng.random(len(frame)) < UNPARSABLE_SHARE
        hit[0] = True  # never an empty draw
        text[hit] = rng.choice(np.array(NOT_A_NUMBER, dtype=object), size=int(hit.sum()))
        frame[column] = text
    return frame


def _with_na_slices(frame: pd.DataFrame) -> pd.DataFrame:
    """Two blocks of NA_SLICE_ROWS consecutive rows, each missing a run of columns."""
    columns = _numeric_features(frame)
    for block, start in enumerate((0, len(frame) - NA_SLICE_ROWS)):
        run = columns[block * NA_SLICE_COLUMNS:(block + 1) * NA_SLICE_COLUMNS]
        frame.iloc[start:start + NA_SLICE_ROWS, [frame.columns.get_loc(c) for c in run]] = np.nan
    return frame

