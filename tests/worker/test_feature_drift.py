"""Imputing what prediction data lacks, from the training statistics."""

from __future__ import annotations

import numpy as np

from synergos_worker.feature_drift import impute_absent

SCALING = {"columns": ["age", "colour_blue", "colour_red", "w_film", "w_good"],
           "shift": [40.0, 0.0, 0.0, 2.0, 0.5], "scale": [10.0, 1.0, 1.0, 4.0, 0.5]}
SUPERSET = SCALING["columns"]


def test_an_absent_categorical_column_takes_the_training_mode() -> None:
    aligned = np.zeros((2, 5))
    training = {"metadata": {"datatype": "tabular", "features": {"cat_variables": {
        "colour": {"labels": ["blue", "red"], "top": "red"}}}}}
    impute_absent(aligned, SUPERSET, ["age"], SCALING, training)
    assert aligned[:, 2].tolist() == [1.0, 1.0]  # colour_red
    assert not aligned[:, [0, 1, 3, 4]].any()  # age stays at the (scaled) training mean


def test_a_present_categorical_column_is_left_alone() -> None:
    aligned = np.zeros((1, 5))
    training = {"metadata": {"datatype": "tabular", "features": {"cat_variables": {
        "colour": {"labels": ["blue", "red"], "top": "red"}}}}}
    impute_absent(aligned, SUPERSET, ["age", "colour_blue"], SCALING, training)
    assert not aligned.any()


def test_an_absent_word_counts_zero() -> None:
    aligned = np.zeros((1, 5))
    impute_absent(aligned, SUPERSET, ["w_good"], SCALING, {"metadata": {"datatype": "text"}})
    assert aligned[0, 3] == -0.5 and aligned[0, 4] == 0.0  # (0 - 2) / 4; present untouched
