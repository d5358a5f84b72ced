"""preprocess_project / load_prepared: the poll answer's contract, per-meta caching that follows
data changes, input validation, and errors carrying HTTP statuses."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from synergos_worker.datasets import (
    InvalidDataset,
    InvalidRequest,
    NotPrepared,
    TagNotFound,
    UnsafeTag,
    load_prepared,
    preprocess_project,
)
from tests.datasets.builders import write_tabular, write_text

SCHEMA = {"age": "float64", "colour": "category", "target": "int32"}
TAGS = {"train": [["train"]], "evaluate": [["evaluate"]]}


@pytest.fixture
def root(data_root: Path) -> Path:
    write_tabular(data_root / "train", "age,colour,target\n1,red,0\n3,blue,1\n", SCHEMA)
    write_tabular(data_root / "evaluate", "age,colour,target\n2,red,1\n", SCHEMA)
    return data_root


def cache_file(outputs: Path, meta: str) -> Path:
    return outputs / "proj" / "preprocessing" / meta / "prepared.json"


def test_answer_has_the_contract_fields_for_each_meta_with_tags(root: Path,
                                                                outputs: Path) -> None:
    answer = preprocess_project(root, outputs, "proj", {**TAGS, "predict": []}, "classify")
    assert set(answer) == {"train", "evaluate"}  # metas without tags are absent
    train = answer["train"]
    assert set(train) >= {"headers", "schema", "metadata", "summary", "categorical",
                          "image_shape"}
    assert train["schema"] == {"age": "float64", "colour": "category", "target": "int32"}
    assert train["metadata"]["datatype"] == "tabular"
    assert train["metadata"]["n_rows"] == 2 and train["metadata"]["n_features"] == 3
    assert set(train["summary"]) == set(train["headers"]["X"])
    assert set(train["summary"]["age"]) == {"count", "sum", "sum_sq", "min", "max"}
    assert train["image_shape"] is None
    json.loads(json.dumps(answer, allow_nan=False))


def test_second_poll_reuses_the_cache(root: Path, outputs: Path) -> None:
    first = preprocess_project(root, outputs, "proj", TAGS, "classify")
    stamp = cache_file(outputs, "train").stat().st_mtime_ns
    second = preprocess_project(root, outputs, "proj", TAGS, "classify")
    assert second == first
    assert cache_file(outputs, "train").stat().st_mtime_ns == stamp


def test_cache_is_invalidated_when_a_data_file_changes(root: Path, outputs: Path) -> None:
    preprocess_project(root, outputs, "proj", TAGS, "classify")
    evaluate_stamp = cache_file(outputs, "evaluate").stat().st_mtime_ns
    (root / "train" / "data.csv").write_text("age,colour,target\n1,red,0\n3,green,1\n5,red,1\n")
    answer = preprocess_project(root, outputs, "proj", TAGS, "classify")
    assert answer["train"]["headers"]["X"] == ["age", "colour_green", "colour_red"]
    assert load_prepared(outputs, "proj", "train").X.shape == (3, 3)
    assert cache_file(outputs, "evaluate").stat().st_mtime_ns == evaluate_stamp  # untouched
    assert len(list((outputs / "proj" / "preprocessing" / "train").glob("*.npy"))) == 2


def test_same_size_rewrite_is_detected_by_mtime(root: Path, outputs: Path) -> None:
    preprocess_project(root, outputs, "proj", TAGS, "classify")
    path = root / "train" / "data.csv"
    path.write_text(path.read_text().replace("1,red", "7,red"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    answer = preprocess_project(root, outputs, "proj", TAGS, "classify")
    assert answer["train"]["summary"]["age"]["max"] == 7.0


def test_action_change_recomputes_the_targets(root: Path, outputs: Path) -> None:
    preprocess_project(root, outputs, "proj", TAGS, "classify")
    answer = preprocess_project(root, outputs, "proj", TAGS, "regress")
    assert answer["train"]["headers"]["y"] == ["target"]
    np.testing.assert_array_equal(load_prepared(outputs, "proj", "train").y, [[0], [1]])


def test_concurrent_polls_of_one_project_agree(root: Path, outputs: Path) -> None:
    results: list[dict] = []

    def poll() -> None:
        results.append(preprocess_project(root, outputs, "proj", TAGS, "classify"))

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and results[0] == results[1] == results[2]
    assert load_prepared(outputs, "proj", "evaluate").X.shape == (1, 2)


def test_load_prepared_before_polling_is_404(outputs: Path) -> None:
    with pytest.raises(NotPrepared) as caught:
        load_prepared(outputs, "proj", "train")
    assert caught.value.status == 404


@pytest.mark.parametrize(("project_id", "tags", "action", "error"), [
    ("proj", TAGS, "cluster", InvalidRequest),
    ("../escape", TAGS, "classify", InvalidRequest),
    ("proj", {"test": [["train"]]}, "classify", InvalidRequest),
    ("proj", {"train": "train"}, "classify", InvalidRequest),
    ("proj", {"train": [["..", "train"]]}, "classify", UnsafeTag),
    ("proj", {"train": [["absent"]]}, "classify", TagNotFound),
])
def test_bad_requests_carry_their_status(root: Path, outputs: Path, project_id: str,
                                         tags: dict, action: str, error: type) -> None:
    with pytest.raises(error) as caught:
        preprocess_project(root, outputs, project_id, tags, action)
    assert caught.value.status in (400, 404)
    assert not (outputs / "proj" / "preprocessing" / "train").exists()


def test_tags_of_one_meta_must_share_a_datatype(root: Path, outputs: Path) -> None:
    write_text(root / "notes", [("some words here", "0")])
    with pytest.raises(InvalidDataset, match="share a datatype"):
        preprocess_project(root, outputs, "proj", {"train": [["train"], ["notes"]]}, "classify")


def test_the_same_folder_named_twice_counts_once(root: Path, outputs: Path) -> None:
    answer = preprocess_project(root, outputs, "proj", {"train": [["train"], ["train"]]},
                                "classify")
    assert answer["train"]["metadata"]["n_rows"] == 2
