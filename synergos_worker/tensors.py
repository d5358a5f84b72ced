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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synalgo.alignment import apply_alignment, labels_to_indices
from synalgo.errors import AlignmentError
from synergos_worker.datasets import PreparedMeta, load_prepared, pixel_column
from synergos_worker.datasets.cache import preprocessing_dir, read_entry


@dataclass(eq=False)
class MetaTensors:
    """One meta's aligned tensors."""

    X: torch.Tensor
    y: torch.Tensor

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


def build_meta_tensors(prepared: PreparedMeta, alignment: dict[str, Any], action: str
                       ) -> MetaTensors:
    """Align, scale and shape one meta's prepared arrays; raises AlignmentError when they do
    not fit the alignment (e.g. the data was re-polled with new columns)."""
    superset = alignment["superset"]
    aligned = apply_alignment(prepared.X, prepared.x_columns, superset["X"],
                              alignment.get("scaling"))
    if prepared.image_shape:
        aligned = _image_tensor(aligned, superset["X"], prepared.image_shape)
    features = torch.from_numpy(np.ascontiguousarray(aligned, dtype=np.float32))
    if action == "classify":
        indices = labels_to_indices(prepared.y, prepared.y_columns, superset["y"])
        labels = torch.from_numpy(indices)
    else:
        missing = [name for name in prepared.y_columns if name not in superset["y"]]
        if missing:
            raise AlignmentError("target columns not in the aligned superset: "
                                 + ", ".join(missing))
        labels = torch.from_numpy(np.asarray(prepared.y, dtype=np.float32).reshape(-1, 1))
    return MetaTensors(X=features, y=labels)


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
        key = (project_id, meta, entry.get("fingerprint"), alignment_digest(alignment), action)
        with self._lock:
            cached = self._tensors.get(key)
        if cached is not None:
            return cached
        tensors = build_meta_tensors(load_prepared(self.outputs_dir, project_id, meta),
                                     alignment, action)
        with self._lock:
            return self._tensors.setdefault(key, tensors)
