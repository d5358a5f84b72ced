"""The example-dataset builder: layout, the scenarios' quirks, held-out test rows, determinism,
the partition helpers, and the `python -m synergos_datasets` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synergos_datasets.builder import build_examples
from synergos_datasets.partition import partition_iid, partition_label_skew
from synergos_worker.datasets import load_prepared, preprocess_project, resolve_tag

METAS = ("train", "evaluate", "predict")


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("examples")
    build_examples(out, parties=2)
    return out


def read(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "data.csv")


def test_every_party_serves_every_dataset_with_unique_tags(examples_dir: Path) -> None:
    manifest = json.loads((examples_dir / "manifest.json").read_text())
    assert set(manifest["datasets"]) == {"breast_cancer", "breast_cancer_iid", "wine",
                                         "diabetes", "digits"}
    for party in ("party_1", "party_2"):
        for name, entry in manifest["datasets"].items():
            for meta in METAS:
                folder = resolve_tag(examples_dir / party, entry["tags"][meta][0])
                assert folder == (examples_dir / party / name / meta).resolve()


def test_breast_cancer_is_misaligned_with_nans_and_a_string_category(examples_dir: Path) -> None:
    party_1 = read(examples_dir / "party_1" / "breast_cancer" / "train")
    party_2 = read(examples_dir / "party_2" / "breast_cancer" / "train")
    assert set(party_1.columns) - set(party_2.columns) == {"worst_symmetry",
                                                           "worst_fractal_dimension"}
    assert party_1.isna().to_numpy().any() and party_2.isna().to_numpy().any()
    assert set(party_1["size_band"].dropna()) == {"small", "medium", "large"}
    iid = read(examples_dir / "party_2" / "breast_cancer_iid" / "train")
    assert iid.shape[1] == 31 and not iid.isna().to_numpy().any()


def test_wine_training_labels_are_skewed_between_parties(examples_dir: Path) -> None:
    shares = [read(examples_dir / p / "wine" / "train")["target"].value_counts(normalize=True)
              for p in ("party_1", "party_2")]
    assert shares[0][0] > 0.35 and shares[1][0] < 0.25  # class 0 lives mostly on party 1
    assert shares[1][1] > 0.5


def test_evaluate_rows_are_disjoint_parts_of_one_held_out_split(examples_dir: Path) -> None:
    for name in ("breast_cancer_iid", "diabetes"):
        evaluate = [read(examples_dir / p / name / "evaluate") for p in ("party_1", "party_2")]
        train = [read(examples_dir / p / name / "train") for p in ("party_1", "party_2")]
        keys = [set(map(tuple, frame.round(6).to_numpy())) for frame in evaluate + train]
        assert not keys[0] & keys[1]
        assert not (keys[0] | keys[1]) & (keys[2] | keys[3])
        central = read(examples_dir / "central" / name / "evaluate")
        assert len(central) == sum(map(len, evaluate))
        total = len(central) + len(read(examples_dir / "central" / name / "train"))
        assert abs(len(central) / total - 0.2) < 0.01
        predict = read(examples_dir / "party_1" / name / "predict")
        pd.testing.assert_frame_equal(predict, evaluate[0])


def test_examples_preprocess_into_the_expected_shapes(examples_dir: Path, tmp_path: Path) -> None:
    tags = {meta: [["digits", meta]] for meta in METAS}
    answer = preprocess_project(examples_dir / "party_1", tmp_path, "digits", tags, "classify")
    assert answer["train"]["image_shape"] == [1, 8, 8]
    assert answer["train"]["headers"]["y"] == [f"target_{d}" for d in range(10)]
    prepared = load_prepared(tmp_path, "digits", "train")
    assert prepared.X.shape[1] == 64 and prepared.X.min() >= 0.0 and prepared.X.max() <= 1.0
    tags = {"train": [["breast_cancer", "train"]]}
    answer = preprocess_project(examples_dir / "party_2", tmp_path, "bc", tags, "classify")
    assert answer["train"]["categorical"] == ["size_band_large", "size_band_medium",
                                              "size_band_small"]
    assert answer["train"]["metadata"]["n_features"] == 31  # 28 numbers + 3 size_band levels
    tags = {"train": [["diabetes", "train"]]}
    answer = preprocess_project(examples_dir / "party_1", tmp_path, "db", tags, "regress")
    assert answer["train"]["headers"]["y"] == ["target"]


def test_command_line_writes_a_deterministic_subset(examples_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "synergos_datasets", str(tmp_path), "--parties", "3",
         "--datasets", "wine,digits"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    assert "wine (tabular, classify)" in done.stdout
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["datasets"]) == {"wine", "digits"} and manifest["parties"] == 3
    assert (tmp_path / "party_3" / "digits" / "train" / "mapping.csv").is_file()
    # the same seed gives the same bytes whatever the number of datasets built
    build_examples(tmp_path / "again", parties=3, names=["wine"])
    for meta in METAS:
        first = (tmp_path / "party_2" / "wine" / meta / "data.csv").read_bytes()
        assert first == (tmp_path / "again" / "party_2" / "wine" / meta / "data.csv").read_bytes()


def test_command_line_rejects_unknown_datasets(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "synergos_datasets", str(tmp_path), "--datasets", "iris"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2 and "unknown dataset" in done.stderr


def test_partition_iid_is_a_deterministic_disjoint_cover() -> None:
    parts = partition_iid(103, 4, seed=5)
    assert [len(part) for part in parts] == [26, 26, 26, 25]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(103))
    again = partition_iid(103, 4, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    assert not np.array_equal(parts[0], partition_iid(103, 4, seed=6)[0])
    with pytest.raises(ValueError):
        partition_iid(3, 4, seed=0)


def test_partition_label_skew_concentrates_each_class() -> None:
    labels = np.repeat([0, 1], 50)
    parts = partition_label_skew(labels, 2, seed=1, dominant_share=0.8)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(100))
    assert (labels[parts[0]] == 0).sum() == 40 and (labels[parts[1]] == 1).sum() == 40
