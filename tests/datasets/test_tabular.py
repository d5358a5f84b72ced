"""Tabular preprocessing: schema typing, string categories, cheap imputation, one-hot, sorting,
outer joins across tags, summaries, and clear 422 errors for unusable files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synergos_worker.datasets import InvalidDataset, load_prepared, preprocess_project
from synergos_worker.datasets.stats import column_summary
from tests.datasets.builders import write_tabular

SCHEMA = {"age": "int32", "chol": "float64", "colour": "category", "exang": "category",
          "target": "int32"}


def prepare(root: Path, outputs: Path, tags: dict, action: str = "classify") -> dict:
    return preprocess_project(root, outputs, "proj", tags, action)


def test_string_categories_imputation_one_hot_and_sorted_columns(data_root: Path,
                                                                 outputs: Path) -> None:
    write_tabular(data_root / "train", (
        "colour,age,chol,exang,target\n"
        "red,30,200,0,0\n"
        "blue,40,,1,1\n"
        "red,,180,0.0,1\n"
        ",50,220,1.0,0\n"
    ), SCHEMA)
    answer = prepare(data_root, outputs, {"train": [["train"]]})["train"]
    prepared = load_prepared(outputs, "proj", "train")
    expected_columns = ["age", "chol", "colour_blue", "colour_red", "exang_0", "exang_1"]
    assert answer["headers"] == {"X": expected_columns, "y": ["target_0", "target_1"]}
    assert prepared.x_columns == expected_columns and prepared.X.dtype == np.float32
    assert answer["categorical"] == ["colour_blue", "colour_red", "exang_0", "exang_1"]
    # median for numbers (age: 40 of 30/40/50, chol: 200 of 180/200/220), most frequent
    # category for the missing colour (red); "0.0" and "0" are one level
    np.testing.assert_array_equal(prepared.X, np.array([
        [30, 200, 0, 1, 1, 0],
        [40, 200, 1, 0, 0, 1],
        [40, 180, 0, 1, 1, 0],
        [50, 220, 0, 1, 0, 1],
    ], dtype=np.float32))
    np.testing.assert_array_equal(prepared.y, [[1, 0], [0, 1], [0, 1], [1, 0]])
    assert prepared.y.dtype == np.float32 and prepared.y_columns == ["target_0", "target_1"]
    assert answer["metadata"]["target"]["counts"] == {"0": 2, "1": 2}


def test_summary_statistics_allow_global_scaling(data_root: Path, outputs: Path) -> None:
    write_tabular(data_root / "train", "age,target\n1,a\n2,b\n,a\n5,b\n",
                  {"age": "float64", "target": "category"})
    answer = prepare(data_root, outputs, {"train": [["train"]]})["train"]
    values = np.array([1, 2, 2, 5], dtype=np.float64)  # the missing cell imputed by the median
    assert answer["summary"]["age"] == {"count": 4, "sum": values.sum(),
                                        "sum_sq": (values**2).sum(), "min": 1.0, "max": 5.0}
    assert answer["summary_y"]["target_a"]["sum"] == 2.0
    described = answer["metadata"]["features"]["num_variables"]["age"]
    assert described["count"] == 3 and described["50%"] == 2.0 and described["max"] == 5.0
    json.dumps(answer, allow_nan=False)  # strictly JSON: no NaN/inf anywhere


def test_misaligned_columns_across_tags_are_outer_joined_then_imputed(data_root: Path,
                                                                      outputs: Path) -> None:
    write_tabular(data_root / "site_a", "age,exang,target\n30,1,0\n50,1,1\n60,0,1\n", SCHEMA)
    write_tabular(data_root / "site_b", "age,chol,target\n40,210,1\n", SCHEMA)
    answer = prepare(data_root, outputs, {"train": [["site_a"], ["site_b"]]})["train"]
    prepared = load_prepared(outputs, "proj", "train")
    assert prepared.x_columns == ["age", "chol", "exang_0", "exang_1"]
    assert answer["metadata"]["n_rows"] == 4 and answer["metadata"]["src_count"] == 2
    # chol exists only in site_b: site_a's rows get its median; exang missing in site_b: mode
    np.testing.assert_array_equal(prepared.X[:, 1], [210, 210, 210, 210])
    np.testing.assert_array_equal(prepared.X[3], [40, 210, 0, 1])


def test_unseen_category_in_another_meta_is_its_own_column(data_root: Path,
                                                           outputs: Path) -> None:
    write_tabular(data_root / "train", "colour,target\nred,0\nblue,1\n", SCHEMA)
    write_tabular(data_root / "evaluate", "colour,target\nred,0\ngreen,1\n", SCHEMA)
    answer = prepare(data_root, outputs, {"train": [["train"]], "evaluate": [["evaluate"]]})
    assert answer["train"]["headers"]["X"] == ["colour_blue", "colour_red"]
    assert answer["evaluate"]["headers"]["X"] == ["colour_green", "colour_red"]


def test_all_nan_column_is_dropped_and_reported(data_root: Path, outputs: Path) -> None:
    write_tabular(data_root / "train", "age,chol,colour,target\n1,,,0\n2,,,1\n", SCHEMA)
    answer = prepare(data_root, outputs, {"train": [["train"]]})["train"]
    assert answer["headers"]["X"] == ["age"]
    assert answer["metadata"]["features"]["dropped_columns"] == ["chol", "colour"]


def test_rows_without_target_are_dropped_and_counted(data_root: Path, outputs: Path) -> None:
    write_tabular(data_root / "train", "age,target\n1,0\n2,\n3,1\n", SCHEMA)
    answer = prepare(data_root, outputs, {"train": [["train"]]})["train"]
    assert answer["metadata"]["n_rows"] == 2 and answer["metadata"]["rows_without_target"] == 1


def test_regression_target_is_one_float_column(data_root: Path, outputs: Path) -> None:
    write_tabular(data_root / "train", "age,target\n1,0.5\n2,1.5\n",
                  {"age": "float64", "target": "float64"})
    answer = prepare(data_root, outputs, {"train": [["train"]]}, action="regress")["train"]
    prepared = load_prepared(outputs, "proj", "train")
    assert answer["headers"]["y"] == ["target"]
    np.testing.assert_array_equal(prepared.y, [[0.5], [1.5]])
    assert answer["metadata"]["target"]["mean"] == 1.0


def test_text_in_a_numeric_column_is_coerced_and_counted(data_root: Path, outputs: Path) -> None:
    write_tabular(data_root / "train", "age,target\n1,0\n?,1\n3,1\n", SCHEMA)
    answer = prepare(data_root, outputs, {"train": [["train"]]})["train"]
    assert answer["metadata"]["coerced_values"] == {"age": 1}
    np.testing.assert_array_equal(load_prepared(outputs, "proj", "train").X[:, 0], [1, 2, 3])


def test_csv_without_target_is_422_naming_the_file(data_root: Path, outputs: Path) -> None:
    write_tabular(data_root / "train", "age,outcome\n1,0\n", SCHEMA, name="visits.csv")
    with pytest.raises(InvalidDataset) as caught:
        prepare(data_root, outputs, {"train": [["train"]]})
    assert caught.value.status == 422
    assert "train/visits.csv" in caught.value.message and "'target'" in caught.value.message


@pytest.mark.parametrize(("csv_text", "schema", "fragment"), [
    ("age,weight,target\n1,2,0\n", SCHEMA, "not declared"),
    ("age,age,target\n1,2,0\n", SCHEMA, "duplicate"),
    ("", SCHEMA, "empty"),
    ("colour,target\nred,0\n", {"colour": "float64", "target": "int32"}, "declare it 'category'"),
    ("age,target\n1,0\n", {"age": "no_such_type"}, "unknown dtype"),
    ("age,target\n1,x\n", {"age": "float64", "target": "float64"}, "not numbers"),
])
def test_unusable_tabular_files_are_422(data_root: Path, outputs: Path, csv_text: str,
                                        schema: dict, fragment: str) -> None:
    write_tabular(data_root / "train", csv_text, schema)
    action = "regress" if schema.get("target") == "float64" else "classify"
    with pytest.raises(InvalidDataset, match=fragment) as caught:
        prepare(data_root, outputs, {"train": [["train"]]}, action=action)
    assert caught.value.status == 422


def test_missing_schema_and_bad_metadata_are_422(data_root: Path, outputs: Path) -> None:
    folder = write_tabular(data_root / "train", "age,target\n1,0\n", SCHEMA)
    (folder / "schema.json").unlink()
    with pytest.raises(InvalidDataset, match=r"schema\.json is missing"):
        prepare(data_root, outputs, {"train": [["train"]]})
    (folder / "metadata.json").write_text('{"datatype": "video"}')
    with pytest.raises(InvalidDataset, match="datatype"):
        prepare(data_root, outputs, {"train": [["train"]]})
    (folder / "metadata.json").write_text('{"datatype": "tabular", "options": {"colour": 1}}')
    with pytest.raises(InvalidDataset, match="unknown tabular option"):
        prepare(data_root, outputs, {"train": [["train"]]})


def test_tabular_summary_equals_the_summary_of_the_prepared_matrix(data_root: Path,
                                                                   outputs: Path) -> None:
    rng = np.random.default_rng(3)
    ages = np.round(rng.normal(50, 10, 300), 1).astype(object)
    ages[rng.random(300) < 0.1] = ""
    colours = rng.choice(["red", "blue", "", "green"], 300)
    lines = ["age,colour,target"] + [f"{a},{c},{t}" for a, c, t in
                                     zip(ages, colours, rng.integers(0, 2, 300), strict=True)]
    write_tabular(data_root / "train", "\n".join(lines) + "\n", SCHEMA)
    answer = prepare(data_root, outputs, {"train": [["train"]]})["train"]
    prepared = load_prepared(outputs, "proj", "train")
    expected = column_summary(prepared.X, prepared.x_columns)
    assert answer["summary"].keys() == expected.keys()
    for name, entry in expected.items():
        assert answer["summary"][name] == pytest.approx(entry, rel=1e-9), name


def test_separator_and_missing_markers_come_from_metadata_options(data_root: Path,
                                                                  outputs: Path) -> None:
    write_tabular(data_root / "train", "age;colour;target\n1;red;0\n?;blue;1\n5;red;1\n", SCHEMA,
                  options={"sep": ";", "na_values": ["?"]})
    answer = prepare(data_root, outputs, {"train": [["train"]]})["train"]
    assert answer["headers"]["X"] == ["age", "colour_blue", "colour_red"]
    assert answer["metadata"]["coerced_values"] == {}  # "?" is a missing marker, not text
    np.testing.assert_array_equal(load_prepared(outputs, "proj", "train").X[:, 0], [1, 3, 5])
    (data_root / "train" / "metadata.json").write_text(
        json.dumps({"datatype": "tabular", "options": {"sep": ";;"}}))
    with pytest.raises(InvalidDataset, match="one character"):
        prepare(data_root, outputs, {"train": [["train"]]})
