"""`validate_alignment`: the Worker's check of the TTP's alignment against its own headers."""

from __future__ import annotations

from synergos_worker.alignment import validate_alignment

OWN = {"train": {"X": ["age", "colour_red"], "y": ["target_0", "target_1"]},
       "evaluate": {"X": ["age"], "y": ["target_1"]}}
SUPERSET = {"X": ["age", "colour_blue", "colour_red"], "y": ["target_0", "target_1"]}


def test_spacers_are_the_superset_positions_each_meta_lacks() -> None:
    alignment, errors = validate_alignment({"superset": SUPERSET}, OWN)
    assert errors == {}
    assert alignment["spacers"] == {"train": {"X": [1], "y": []},
                                    "evaluate": {"X": [1, 2], "y": [0]}}
    assert alignment["scaling"] is None and alignment["headers"] == OWN


def test_matching_spacers_and_scaling_are_accepted() -> None:
    body = {"superset": SUPERSET, "spacers": {"train": {"X": [1], "y": []}},
            "scaling": {"columns": ["age"], "shift": [30], "scale": [12.5]}}
    alignment, errors = validate_alignment(body, OWN)
    assert errors == {}
    assert alignment["scaling"] == {"columns": ["age"], "shift": [30.0], "scale": [12.5]}


def test_every_missing_column_is_named_per_meta() -> None:
    body = {"superset": {"X": ["colour_blue"], "y": ["target_0"]}}
    _, errors = validate_alignment(body, OWN)
    assert errors["superset.X"] == ("lacks this Worker's columns: evaluate: age; "
                                    "train: age, colour_red")
    assert "target_1" in errors["superset.y"]


def test_duplicate_columns_are_rejected() -> None:
    _, errors = validate_alignment({"superset": {"X": ["age", "age"], "y": []}}, OWN)
    assert errors["superset.X"] == "has duplicate column names"


def test_disagreeing_spacers_name_the_expected_value() -> None:
    body = {"superset": SUPERSET, "spacers": {"evaluate": {"X": [1], "y": [0]}}}
    _, errors = validate_alignment(body, OWN)
    assert set(errors) == {"spacers.evaluate.X"}
    assert "[1, 2]" in errors["spacers.evaluate.X"]


def test_scaling_values_must_be_finite_and_positive() -> None:
    for scaling, field in (
        ({"columns": ["age"], "shift": [float("nan")], "scale": [1]}, "scaling.shift"),
        ({"columns": ["age"], "shift": [0], "scale": [-1]}, "scaling.scale"),
        ({"columns": ["age"], "shift": [True], "scale": [1]}, "scaling.shift"),
        ("z-score", "scaling"),
    ):
        _, errors = validate_alignment({"superset": SUPERSET, "scaling": scaling}, OWN)
        assert field in errors, scaling
