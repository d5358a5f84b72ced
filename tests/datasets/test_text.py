"""Text preprocessing: two-column CSVs -> bag-of-words counts with options from metadata.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synergos_worker.datasets import InvalidDataset, load_prepared, preprocess_project
from tests.datasets.builders import write_text

REVIEWS = [
    ("The film was great, great acting", "pos"),
    ("A dull <b>boring</b> film in 2020", "neg"),
    ("Great music and great actors", "pos"),
]


def prepare(root: Path, outputs: Path, tags: list[list[str]]) -> dict:
    return preprocess_project(root, outputs, "proj", {"train": tags}, "classify")["train"]


def test_bag_of_words_counts_with_default_cleaning(data_root: Path, outputs: Path) -> None:
    write_text(data_root / "reviews", REVIEWS)
    answer = prepare(data_root, outputs, [["reviews"]])
    prepared = load_prepared(outputs, "proj", "train")
    columns = prepared.x_columns
    assert columns == sorted(columns) and all(name.startswith("w_") for name in columns)
    # stop words, numbers and HTML tags are dropped by default; the tag's text is kept
    assert "w_the" not in columns and "w_2020" not in columns and "w_b" not in columns
    assert "w_boring" in columns
    row = prepared.X[0]
    assert row[columns.index("w_great")] == 2 and row[columns.index("w_film")] == 1
    assert prepared.y_columns == ["target_neg", "target_pos"]
    np.testing.assert_array_equal(prepared.y[:, 1], [1, 0, 1])
    assert answer["metadata"]["representation"] == "bag_of_words"
    assert answer["metadata"]["word_count"] == len(columns)


def test_options_from_metadata_change_the_vocabulary(data_root: Path, outputs: Path) -> None:
    write_text(data_root / "reviews", REVIEWS,
               options={"keep_stopwords": True, "keep_numbers": True, "max_features": 4,
                        "spellcheck": True, "keep_punctuations": True})
    answer = prepare(data_root, outputs, [["reviews"]])
    assert len(answer["headers"]["X"]) == 4 and "w_great" in answer["headers"]["X"]
    assert answer["metadata"]["ignored_options"] == ["keep_punctuations", "spellcheck"]


def test_tags_of_one_meta_outer_join_their_vocabularies(data_root: Path, outputs: Path) -> None:
    write_text(data_root / "site_a", [("apples and pears", "x")])
    write_text(data_root / "site_b", [("pears and plums", "y")])
    prepare(data_root, outputs, [["site_a"], ["site_b"]])
    prepared = load_prepared(outputs, "proj", "train")
    assert prepared.x_columns == ["w_apples", "w_pears", "w_plums"]
    np.testing.assert_array_equal(prepared.X, [[1, 1, 0], [0, 1, 1]])


@pytest.mark.parametrize(("content", "options", "fragment"), [
    ("a,b,c\nx,y,z\n", None, "two columns"),
    ("text,target\nhello,1\n", {"stemming": True}, "unknown text option"),
    ("text,target\nthe and,1\n", None, "bag of words"),
])
def test_unusable_text_folders_are_422(data_root: Path, outputs: Path, content: str,
                                       options: dict | None, fragment: str) -> None:
    folder = write_text(data_root / "reviews", [], options=options)
    (folder / "corpus.csv").write_text(content)
    with pytest.raises(InvalidDataset, match=fragment) as caught:
        prepare(data_root, outputs, [["reviews"]])
    assert caught.value.status == 422
