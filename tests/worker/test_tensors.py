"""Prepared arrays + alignment -> tensors: scaling, superset order, labels, image shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synalgo.errors import AlignmentError
from synergos_worker.datasets import PreparedMeta, pixel_column
from synergos_worker.tensors import build_meta_tensors


def prepared(X: np.ndarray, x_columns: list[str], y: np.ndarray, y_columns: list[str],  # noqa: N803
             image_shape: list[int] | None = None) -> PreparedMeta:
    """A PreparedMeta as `load_prepared` returns it."""
    return PreparedMeta(X=X, x_columns=x_columns, y=y, y_columns=y_columns,
                        datatype="image" if image_shape else "tabular",
                        image_shape=image_shape, answer={})


def test_tabular_columns_are_scaled_and_placed_in_superset_order() -> None:
    meta = prepared(np.array([[10.0, 1.0], [30.0, 0.0]], dtype=np.float32), ["age", "red"],
                    np.array([[0, 1], [1, 0]], dtype=np.float32), ["target_a", "target_c"])
    alignment = {"superset": {"X": ["age", "blue", "red"], "y": ["target_a", "target_b",
                                                                   "target_c"]},
                 "scaling": {"columns": ["age"], "shift": [20.0], "scale": [10.0]}}
    tensors = build_meta_tensors(meta, alignment, "classify")
    assert tensors.X.dtype == torch.float32
    assert tensors.X.tolist() == [[-1.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    assert tensors.y.tolist() == [2, 0] and tensors.y.dtype == torch.int64
    assert tensors.n_samples == 2


def test_regression_targets_are_float_columns() -> None:
    meta = prepared(np.ones((3, 1), dtype=np.float32), ["x"],
                    np.array([[1.5], [2.0], [-1.0]], dtype=np.float32), ["target"])
    tensors = build_meta_tensors(meta, {"superset": {"X": ["x"], "y": ["target"]}}, "regress")
    assert tensors.y.shape == (3, 1) and tensors.y.dtype == torch.float32


def test_images_become_n_c_h_w() -> None:
    shape = [2, 2, 3]
    columns = [pixel_column(c, r, w) for c in range(2) for r in range(2) for w in range(3)]
    pixels = np.arange(2 * len(columns), dtype=np.float32).reshape(2, -1)
    meta = prepared(pixels, columns, np.array([[1.0], [1.0]], dtype=np.float32), ["target_x"],
                    image_shape=shape)
    alignment = {"superset": {"X": columns[::-1], "y": ["target_x"]}}  # any column order
    tensors = build_meta_tensors(meta, alignment, "classify")
    assert tensors.X.shape == (2, 2, 2, 3)
    assert torch.equal(tensors.X[1, 1, 0], torch.tensor([18.0, 19.0, 20.0]))


def test_columns_outside_the_superset_are_an_alignment_error() -> None:
    meta = prepared(np.ones((1, 1), dtype=np.float32), ["new"],
                    np.ones((1, 1), dtype=np.float32), ["target_a"])
    with pytest.raises(AlignmentError):
        build_meta_tensors(meta, {"superset": {"X": ["old"], "y": ["target_a"]}}, "classify")
