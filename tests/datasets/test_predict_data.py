"""Prediction data in the data layer: the target is optional for `predict` only, row ids
(id column, row number, per-file row number), and rows kept in order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synergos_worker.datasets import InvalidDataset, load_prepared, preprocess_project
from tests.datasets.builders import write_tabular, write_text

SCHEMA = {"age": "float64", "colour": "category", "target": "category"}


def with_id_column(folder: Path, id_column: str) -> None:
    metadata = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**metadata, "id_column": id_column}))


def test_training_data_still_needs_a_target(data_root: Path, outputs: Path) -> None:
    write_tabular(data_root / "plain", "age,colour\n1,red\n", SCHEMA)
    with pytest.raises(InvalidDataset, match="no 'target' column"):
        preprocess_project(data_root, outputs, "p", {"train": [["plain"]]}, "classify")
    answer = preprocess_project(data_root, outputs, "p", {"predict": [["plain"]]}, "classify")
    assert answer["predict"]["headers"]["y"] == []
    assert answer["predict"]["metadata"]["rows_without_target"] == 1


def test_id_column_names_rows_and_is_not_a_feature(data_root: Path, outputs: Path) -> None:
    folder = write_tabular(data_root / "ids", "patient,age,colour,target\nz9,1,red,\n"
                           "a1,2,blue,yes\nm5,,red,\n", SCHEMA)
    with_id_column(folder, "patient")
    answer = preprocess_project(data_root, outputs, "p", {"predict": [["ids"]]}, "classify")
    assert answer["predict"]["headers"]["X"] == ["age", "colour_blue", "colour_red"]
    assert "z9" not in json.dumps(answer)  # ids stay on the Worker
    prepared = load_prepared(outputs, "p", "predict")
    assert prepared.rows.name == "patient" and prepared.rows.ids == ["z9", "a1", "m5"]
    np.testing.assert_array_equal(prepared.y, [[0], [1], [0]])  # unlabeled rows: no class


def test_a_missing_id_column_is_named(data_root: Path, outputs: Path) -> None:
    folder = write_tabular(data_root / "ids", "age,colour,target\n1,red,a\n", SCHEMA)
    with_id_column(folder, "patient")
    with pytest.raises(InvalidDataset, match="no id column 'patient'"):
        preprocess_project(data_root, outputs, "p", {"predict": [["ids"]]}, "classify")


def test_row_numbers_name_the_file_when_a_meta_reads_several(data_root: Path,
                                                             outputs: Path) -> None:
    write_tabular(data_root / "two", "age,colour\n1,red\n2,blue\n", SCHEMA, name="a.csv")
    (data_root / "two" / "b.csv").write_text("age,colour\n3,red\n")
    preprocess_project(data_root, outputs, "p", {"predict": [["two"]]}, "classify")
    assert load_prepared(outputs, "p", "predict").rows.ids == ["two/a.csv:0", "two/a.csv:1",
                                                               "two/b.csv:0"]


def test_text_without_target_keeps_every_document(data_root: Path, outputs: Path) -> None:
    folder = data_root / "docs"
    write_text(folder, [("good film", "x")])
    (folder / "corpus.csv").write_text("text\ngood film\n\nbad film\n")
    preprocess_project(data_root, outputs, "p", {"predict": [["docs"]]}, "classify")
    prepared = load_prepared(outputs, "p", "predict")
    assert prepared.rows.ids == ["0", "1", "2"] and len(prepared.X) == 3


def test_images_cannot_name_an_id_column(data_root: Path, outputs: Path) -> None:
    folder = data_root / "pictures"
    folder.mkdir()
    (folder / "metadata.json").write_text(json.dumps({"datatype": "image",
                                                      "id_column": "name"}))
    (folder / "mapping.csv").write_text("image\n")
    with pytest.raises(InvalidDataset, match="id_column"):
        preprocess_project(data_root, outputs, "p", {"predict": [["pictures"]]}, "classify")
