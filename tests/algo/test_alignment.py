"""Multiple feature alignment, global scaling and model auto-fix."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from synalgo.alignment import (
    apply_alignment,
    auto_fix_model,
    compute_alignment,
    global_scaling,
    labels_to_indices,
)
from synalgo.errors import AlignmentError
from synalgo.model_spec import build_model, validate_model_spec


def test_superset_and_spacers():
    headers = {
        "p1": {"train": {"X": ["age", "sex_f", "sex_m"], "y": ["target_0", "target_1"]},
               "evaluate": {"X": ["age", "sex_f"], "y": ["target_1"]}},
        "p2": {"train": {"X": ["age", "bp", "sex_m"], "y": ["target_0", "target_2"]}},
    }
    result = compute_alignment(headers)
    assert result["superset"] == {"X": ["age", "bp", "sex_f", "sex_m"],
                                  "y": ["target_0", "target_1", "target_2"]}
    assert result["spacers"] == {
        "p1": {"train": {"X": [1], "y": [2]}, "evaluate": {"X": [1, 3], "y": [0, 2]}},
        "p2": {"train": {"X": [2], "y": [1]}},
    }


def test_spacers_rebuild_the_superset_for_random_headers():
    rng = random.Random(4)
    names = [f"c{i:02d}" for i in range(30)]
    headers = {
        f"p{p}": {meta: {"X": rng.sample(names, rng.randint(1, 30)), "y": ["y"]}
                  for meta in ("train", "evaluate")}
        for p in range(4)
    }
    result = compute_alignment(headers)
    superset = result["superset"]["X"]
    assert superset == sorted({c for m in headers.values() for h in m.values() for c in h["X"]})
    for participant, metas in headers.items():
        for meta, header in metas.items():
            spacers = result["spacers"][participant][meta]["X"]
            kept = [c for i, c in enumerate(superset) if i not in set(spacers)]
            assert kept == sorted(header["X"])


@pytest.mark.parametrize(
    "headers",
    [{}, {"p": ["X"]}, {"p": {"train": {"X": "age"}}}, {"p": {"train": {"X": ["a", "a"]}}}],
)
def test_malformed_headers_are_rejected(headers):
    with pytest.raises(AlignmentError):
        compute_alignment(headers)


def summarise(data: np.ndarray, columns: list[str]) -> dict:
    return {
        name: {"count": len(data), "sum": float(data[:, i].sum()),
               "sum_sq": float((data[:, i] ** 2).sum()),
               "min": float(data[:, i].min()), "max": float(data[:, i].max())}
        for i, name in enumerate(columns)
    }


def test_global_scaling_matches_numpy_on_pooled_data():
    rng = np.random.default_rng(0)
    first = rng.normal(5.0, 2.0, size=(40, 3))
    second = rng.normal(-1.0, 0.5, size=(25, 2))
    first[:, 2] = 7.0  # constant column
    summaries = [summarise(first, ["a", "b", "const"]), summarise(second, ["a", "onehot_x"])]
    scaling = global_scaling(summaries, ["a", "b", "const", "onehot_x", "absent"],
                             categorical={"onehot_x"})
    pooled_a = np.concatenate([first[:, 0], second[:, 0]])
    assert scaling["columns"] == ["a", "b", "const", "onehot_x", "absent"]
    assert scaling["shift"][0] == pytest.approx(pooled_a.mean())
    assert scaling["scale"][0] == pytest.approx(pooled_a.std())
    assert scaling["shift"][1] == pytest.approx(first[:, 1].mean())
    assert scaling["scale"][1] == pytest.approx(first[:, 1].std())
    assert scaling["shift"][2] == pytest.approx(7.0) and scaling["scale"][2] == 1.0
    assert scaling["shift"][3:] == [0.0, 0.0] and scaling["scale"][3:] == [1.0, 1.0]


def test_global_scaling_rejects_bad_summaries():
    with pytest.raises(AlignmentError, match="sum_sq"):
        global_scaling([{"a": {"count": 2, "sum": 1.0}}], ["a"])


def test_apply_alignment_scales_and_places_columns():
    X = np.array([[1.0, 10.0], [3.0, 30.0]])
    scaling = {"columns": ["a", "b", "c"], "shift": [2.0, 20.0, 5.0], "scale": [1.0, 10.0, 2.0]}
    aligned = apply_alignment(X, ["b", "a"], ["a", "b", "c"], scaling)
    expected = np.array([[(10.0 - 2.0) / 1.0, (1.0 - 20.0) / 10.0, 0.0],
                         [(30.0 - 2.0) / 1.0, (3.0 - 20.0) / 10.0, 0.0]])
    np.testing.assert_allclose(aligned, expected)
    np.testing.assert_allclose(apply_alignment(X, ["a", "c"], ["a", "b", "c"]),
                               [[1.0, 0.0, 10.0], [3.0, 0.0, 30.0]])
    with pytest.raises(AlignmentError, match="not in the aligned superset"):
        apply_alignment(X, ["a", "zzz"], ["a", "b"])
    with pytest.raises(AlignmentError, match="2-D"):
        apply_alignment(X, ["a"], ["a"])


def test_labels_to_indices():
    y = np.array([[1, 0], [0, 1], [0, 1]])
    indices = labels_to_indices(y, ["cat", "dog"], ["bird", "cat", "dog"])
    assert indices.dtype == np.int64 and indices.tolist() == [1, 2, 2]
    with pytest.raises(AlignmentError, match="not one-hot"):
        labels_to_indices(np.array([[1, 1]]), ["cat", "dog"], ["cat", "dog"])
    with pytest.raises(AlignmentError, match="not in the aligned superset"):
        labels_to_indices(y, ["cat", "cow"], ["cat", "dog"])


def linear(in_features, out_features, activation="sigmoid"):
    return {"is_input": True, "l_type": "Linear", "activation": activation,
            "structure": {"in_features": in_features, "out_features": out_features}}


def test_auto_fix_single_linear_layer():
    spec = [linear(15, 1)]
    binary = auto_fix_model(spec, n_features=30, n_classes=2, action="classify")
    assert binary[0]["structure"] == {"in_features": 30, "out_features": 1}
    assert binary[0]["activation"] == "sigmoid"
    multi = auto_fix_model(spec, n_features=30, n_classes=4, action="classify")
    assert multi[0]["structure"]["out_features"] == 4 and multi[0]["activation"] == "softmax"
    regress = auto_fix_model([linear(3, 5, None)], n_features=8, n_classes=0, action="regress")
    assert regress[0]["structure"] == {"in_features": 8, "out_features": 1}
    assert spec == [linear(15, 1)]  # the input is not modified


def test_auto_fix_keeps_channels_log_softmax_and_trailing_softmax_modules():
    image = [
        {"l_type": "Conv2d", "structure": {"in_channels": 1, "out_channels": 4,
                                           "kernel_size": 3, "padding": 1}},
        {"l_type": "Flatten"},
        linear(4 * 28 * 28, 3, "log_softmax"),
        {"l_type": "Dropout", "structure": {"p": 0.1}},
    ]
    fixed = auto_fix_model(image, n_features=784, n_classes=5, action="classify")
    assert fixed[0]["structure"]["in_channels"] == 1
    assert fixed[2]["structure"]["out_features"] == 5
    assert fixed[2]["activation"] == "log_softmax"
    assert validate_model_spec(fixed) == {}
    trailing = [linear(4, 2, None), {"l_type": "Softmax", "structure": {"dim": 1}}]
    fixed = auto_fix_model(trailing, n_features=6, n_classes=3, action="classify")
    assert fixed[0]["structure"] == {"in_features": 6, "out_features": 3}
    assert fixed[0]["activation"] is None
    assert build_model(fixed)(torch.zeros(2, 6)).shape == (2, 3)


def test_auto_fix_leaves_size_free_first_layers():
    spec = [{"l_type": "Flatten"}, linear(10, 1)]
    fixed = auto_fix_model(spec, n_features=12, n_classes=2, action="classify")
    assert fixed[0] == {"l_type": "Flatten"}
    with pytest.raises(AlignmentError):
        auto_fix_model(spec, 12, 2, "cluster")
