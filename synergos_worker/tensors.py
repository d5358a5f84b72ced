"""Prepared arrays + the stored alignment -> the torch tensors a run trains and evaluates on.

X: the Worker's columns scaled with the global parameters and placed in superset order
(`synalgo.alignment.apply_alignment`), float32 (N, F), or (N, C, H, W) for images.
y: class indices (int64, (N,)) over the aligned label superset for `classify`, float32 (N, 1)
for `regress`. Tensors are shared between runs that use the same prepared data and alignment
(a weak cache: they are freed once no live run holds them).
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synalgo.alignment import apply_alignment, labels_to_indices
from synalgo.errors import AlignmentError
from synergos_worker.datasets import PreparedMeta, load_prepared, pixel_column
from synergos_worker.datasets.cache import preprocessing_dir, read_entry
from synergos_worker.datasets.features import RowIds
from synergos_worker.feature_drift import impute_absent, train_answer


@dataclass(eq=False)
class MetaTensors:
    """One meta's aligned tensors; `labeled` marks the rows with a known label (prediction
    data may have none: their y is -1 or NaN) and `rows` names the rows."""

    X: torch.Tensor
    y: torch.Tensor
    labeled: torch.Tensor | None = None
    rows: RowIds | None = None
    ignored: dict[str, list[str]] = field(default_factory=dict)

    def labeled_part(self) -> MetaTensors | None:
        """The rows with a label (self when all have one), or None when none has."""
        if self.labeled is None or bool(self.labeled.all()):
            return self
        if not bool(self.labeled.any()):
            return None
        return MetaTensors(X=self.X[self.labeled], y=self.y[self.labeled])

    @property
    def n_samples(self) -> int:
        """Number of rows (samples)."""
        return int(self.X.shape[0])


def _image_tensor(aligned: np.ndarray, superset_x: list[str], image_shape: list[int]
                  ) -> np.ndarray:
    channels, height, width = (int(side) for side in image_shape)
    position = {name: index for index, name in enumerate(superset_x)}
    names = [pixel_column(c, r, w) for c in range(channels) for r in range(height)
             for w in range(width)]
    if len(superset_x) != len(names) or any(name not in position for name in names):
        raise AlignmentError(
            f"the aligned image columns do not form one {channels}x{height}x{width} image "
            "(do all participants' images have the same shape?)")
    order = np.fromiter((position[name] for name in names), dtype=np.int64, count=len(names))
    return aligned[:, order].reshape(-1, channels, height, width)


def _prediction_columns(prepared: PreparedMeta, superset: dict[str, list[str]]
                        ) -> tuple[PreparedMeta, dict[str, list[str]]]:
    """Prediction data without the columns training never saw (they are listed, not used)."""
    known = set(superset["X"])
    keep = [index for index, name in enumerate(prepared.x_columns) if name in known]
    ignored = {"X": [name for name in prepared.x_columns if name not in known],
               "y": [name for name in prepared.y_columns if name not in set(superset["y"])]}
    if prepared.image_shape and (ignored["X"] or len(keep) != len(superset["X"])):
        raise AlignmentError(
            f"the prediction images are {'x'.join(map(str, prepared.image_shape))} (C x H x W) "
            f"but the model was trained on {len(superset['X'])} pixel values: give them the "
            "training size (option 'size' of their metadata.json)")
    if not ignored["X"]:
        return prepared, ignored
    trimmed = PreparedMeta(X=prepared.X[:, keep], x_columns=[prepared.x_columns[i] for i in keep],
                           y=prepared.y, y_columns=prepared.y_columns, datatype=prepared.datatype,
                           image_shape=prepared.image_shape, answer=prepared.answer,
                           rows=prepared.rows)
    return trimmed, ignored


def _class_indices(prepared: PreparedMeta, y_superset: list[str], meta: str) -> np.ndarray:
    """Class indices over the aligned labels; prediction rows without a label known to
    training get -1."""
    if meta != "predict":
        return labels_to_indices(prepared.y, prepared.y_columns, y_superset)
    position = {name: index for index, name in enumerate(y_superset)}
    mapping = np.array([position.get(name, -1) for name in prepared.y_columns] + [-1],
                       dtype=np.int64)
    y = np.asarray(prepared.y)
    hot = np.where(y.sum(axis=1) == 1, np.argmax(y, axis=1), len(prepared.y_columns)) if len(
        prepared.y_columns) else np.zeros(len(y), dtype=np.int64)
    return mapping[hot]


def build_meta_tensors(prepared: PreparedMeta, alignment: dict[str, Any], action: str,
                       meta: str = "train", train_answer: dict[str, Any] | None = None
                       ) -> MetaTensors:
    """Align, scale and shape one meta's prepared arrays; raises AlignmentError when they do
    not fit the alignment (e.g. the data was re-polled with new columns). For `predict`,
    columns and labels unseen in training are ignored (and listed in `ignored`), absent ones
    imputed from the `train_answer` statistics, and rows may be unlabeled."""
    superset = alignment["superset"]
    ignored: dict[str, list[str]] = {}
    if meta == "predict":
        prepared, ignored = _prediction_columns(prepared, superset)
    aligned = apply_alignment(prepared.X, prepared.x_columns, superset["X"],
                              alignment.get("scaling"))
    if meta == "predict" and not prepared.image_shape:
        impute_absent(aligned, superset["X"], prepared.x_columns, alignment.get("scaling"),
                      train_answer or {})
    if prepared.image_shape:
        aligned = _image_tensor(aligned, superset["X"], prepared.image_shape)
    features = torch.from_numpy(np.ascontiguousarray(aligned, dtype=np.float32))
    if action == "classify":
        labels = torch.from_numpy(_class_indices(prepared, superset["y"], meta))
        labeled = labels >= 0
    else:
        missing = [name for name in prepared.y_columns if name not in superset["y"]]
        if missing and meta != "predict":
            raise AlignmentError("target columns not in the aligned superset: "
                                 + ", ".join(missing))
        values = np.asarray(prepared.y, dtype=np.float32).reshape(len(prepared.y), -1)
        values = values[:, :1] if values.shape[1] else np.full((len(values), 1), np.nan,
                                                                dtype=np.float32)
        labels = torch.from_numpy(np.ascontiguousarray(values))
        labeled = torch.isfinite(labels[:, 0])
    return MetaTensors(X=features, y=labels, labeled=labeled, rows=prepared.rows,
                       ignored=ignored)


def alignment_digest(alignment: dict[str, Any]) -> str:
    """A digest of an alignment document (part of the tensor cache key)."""
    return hashlib.sha256(json.dumps(alignment, sort_keys=True).encode()).hexdigest()


class TensorCache:
    """Loads meta tensors, sharing them between runs while any run holds them."""

    def __init__(self, outputs_dir: Path | str) -> None:
        self.outputs_dir = Path(outputs_dir)
        self._lock = threading.Lock()
        self._tensors: weakref.WeakValueDictionary[tuple, MetaTensors] = (
            weakref.WeakValueDictionary())

    def load(self, project_id: str, meta: str, alignment: dict[str, Any], action: str
             ) -> MetaTensors:
        """The aligned tensors of `meta`; raises NotPrepared (no cache) or AlignmentError."""
        entry = read_entry(preprocessing_dir(self.outputs_dir, project_id) / meta) or {}
        training = train_answer(self.outputs_dir, project_id) if meta == "predict" else {}
        key = (project_id, meta, entry.get("fingerprint"), alignment_digest(alignment), action,
               alignment_digest(training))
        with self._lock:
            cached = self._tensors.get(key)
        if cached is not None:
            return cached
        tensors = build_meta_tensors(load_prepared(self.outputs_dir, project_id, meta),
                                     alignment, action, meta, training)
        with self._lock:
            return self._tensors.setdefault(key, tensors)
