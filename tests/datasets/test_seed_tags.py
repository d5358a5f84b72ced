"""`synergos-datasets` also writes the seeds' tag layout for breast_cancer, with the
label skew, misalignment, unparsable cells and NA slices those tag names promise."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synergos_datasets.builder import build_examples
from synergos_datasets.seed_tags import EDGE_TAGS, MISALIGNED_COLUMNS, NA_SLICE_ROWS, seed_tags
from synergos_worker.datasets import preprocess_project, resolve_tag


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seed-tags")
    build_examples(out, parties=2, names=["breast_cancer"])
    return out


def read(examples_dir: Path, party: str, tag: str) -> pd.DataFrame:
    return pd.read_csv(resolve_tag(examples_dir / party, [tag]) / "data.csv",
                       keep_default_na=False, na_values=[""])


def test_every_seed_tag_resolves_to_one_folder_on_its_party(examples_dir: Path) -> None:
    manifest = json.loads((examples_dir / "manifest.json").read_text())
    counts = manifest["datasets"]["breast_cancer"]["seed_tags"]
    assert {party: sorted(tags) for party, tags in counts.items()} == \
        {party: sorted(tags) for party, tags in seed_tags(2).items()}
    for party, tags in counts.items():
        for tag, rows in tags.items():
            folder = resolve_tag(examples_dir / party, [tag])
            assert folder == (examples_dir / party / "breast_cancer" / tag).resolve()
            assert len(read(examples_dir, party, tag)) == rows > 0


def test_non_iid_shares_are_label_skewed_and_rows_never_repeat(examples_dir: Path) -> None:
    party_1 = read(examples_dir, "party_1", "non_iid_1")
    party_2 = read(examples_dir, "party_2", "non_iid_2")
    assert party_1["target"].mean() < 0.5 < party_2["target"].mean()
    keys = ["mean_radius", "mean_perimeter", "target"]
    training = [read(examples_dir, "party_1", tag) for tag in ("non_iid_1", *EDGE_TAGS)]
    training.append(party_2)
    evaluation = [read(examples_dir, "party_1", "iid_1"), read(examples_dir, "party_2", "iid_2")]
    rows = pd.concat([frame[keys] for frame in training + evaluation])
    assert not rows.dropna().duplicated().any()


def test_misaligned_tag_lacks_columns_and_party_2_lacks_its_own(examples_dir: Path) -> None:
    full = set(read(examples_dir, "party_1", "non_iid_1").columns)
    assert full - set(read(examples_dir, "party_1", "edge_test_misalign").columns) == \
        set(MISALIGNED_COLUMNS)
    assert full - set(read(examples_dir, "party_2", "non_iid_2").columns) == \
        {"worst_symmetry", "worst_fractal_dimension"}


def test_unparsable_cells_are_coerced_and_counted_by_the_worker(
        examples_dir: Path, tmp_path: Path) -> None:
    frame = read(examples_dir, "party_1", "edge_test_missing_coecerable_vals")
    text_columns = [c for c in frame.columns
                    if not pd.api.types.is_numeric_dtype(frame[c]) and c != "size_band"]
    assert len(text_columns) == 3
    tags = {"train": [["non_iid_1"], ["edge_test_missing_coecerable_vals"],
                      ["edge_test_misalign"], ["edge_test_na_slices"]],
            "evaluate": [["iid_1"]]}
    answer = preprocess_project(examples_dir / "party_1", tmp_path, "seeds", tags, "classify")
    coerced = answer["train"]["metadata"]["coerced_values"]
    assert set(coerced) == set(text_columns) and all(count > 0 for count in coerced.values())


def test_na_slices_are_blocks_of_rows_missing_a_run_of_columns(examples_dir: Path) -> None:
    frame = read(examples_dir, "party_1", "edge_test_na_slices")
    missing_rows = frame.drop(columns=["target"]).isna().sum(axis=1) >= 6
    assert missing_rows.iloc[:NA_SLICE_ROWS].all() and missing_rows.iloc[-NA_SLICE_ROWS:].all()
    assert not missing_rows.iloc[NA_SLICE_ROWS:-NA_SLICE_ROWS].any()
