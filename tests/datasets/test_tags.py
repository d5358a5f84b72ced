"""Tag resolution: one match, none (404), several (409), unsafe tokens and symlink escapes (400)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synergos_worker.datasets import TagAmbiguous, TagNotFound, UnsafeTag, resolve_tag
from tests.datasets.builders import write_tabular

CSV = "x,target\n1,0\n"
SCHEMA = {"x": "float64", "target": "int32"}


@pytest.fixture
def party_root(data_root: Path) -> Path:
    for dataset in ("heart", "heart_iid"):
        for meta in ("train", "evaluate"):
            write_tabular(data_root / dataset / meta, CSV, SCHEMA)
    return data_root


def test_tag_resolves_to_the_folder_containing_every_token(party_root: Path) -> None:
    assert resolve_tag(party_root, ["heart", "train"]) == (party_root / "heart" / "train").resolve()
    # tokens are an unordered subset of the path's components
    assert resolve_tag(party_root, ["evaluate", "heart_iid"]) == (
        party_root / "heart_iid" / "evaluate").resolve()


def test_no_match_is_404_naming_the_tag(party_root: Path) -> None:
    with pytest.raises(TagNotFound) as caught:
        resolve_tag(party_root, ["heart", "predict"])
    assert caught.value.status == 404
    assert "predict" in caught.value.message


def test_token_must_equal_a_whole_path_component(party_root: Path) -> None:
    with pytest.raises(TagNotFound):
        resolve_tag(party_root, ["hea", "train"])


def test_several_matches_are_409_listing_them(party_root: Path) -> None:
    with pytest.raises(TagAmbiguous) as caught:
        resolve_tag(party_root, ["train"])
    assert caught.value.status == 409
    assert "heart/train" in caught.value.message and "heart_iid/train" in caught.value.message


def test_nested_dataset_folders_are_ambiguous_not_first_found(data_root: Path) -> None:
    write_tabular(data_root / "site", CSV, SCHEMA)
    write_tabular(data_root / "site" / "extra", CSV, SCHEMA)
    with pytest.raises(TagAmbiguous):
        resolve_tag(data_root, ["site"])
    assert resolve_tag(data_root, ["site", "extra"]).name == "extra"


@pytest.mark.parametrize("tag", [["..", "train"], ["heart/train"], ["/etc"], [".hidden"],
                                 ["a\x00b"], [], "heart", [["heart"]], [3]])
def test_tokens_must_be_plain_names(party_root: Path, tag: object) -> None:
    with pytest.raises(UnsafeTag) as caught:
        resolve_tag(party_root, tag)  # type: ignore[arg-type]
    assert caught.value.status == 400


def test_hidden_folders_are_not_datasets(data_root: Path) -> None:
    write_tabular(data_root / ".trash" / "old", CSV, SCHEMA)
    with pytest.raises(TagNotFound):
        resolve_tag(data_root, ["old"])


def test_symlinked_folder_leading_outside_the_root_is_refused(tmp_path: Path,
                                                               data_root: Path) -> None:
    outside = write_tabular(tmp_path / "secret" / "stolen", CSV, SCHEMA)
    os.symlink(outside, data_root / "stolen")
    with pytest.raises(UnsafeTag) as caught:
        resolve_tag(data_root, ["stolen"])
    assert caught.value.status == 400 and "outside the data root" in caught.value.message


def test_symlinked_metadata_file_leading_outside_is_refused(tmp_path: Path,
                                                            data_root: Path) -> None:
    write_tabular(tmp_path / "elsewhere", CSV, SCHEMA)
    folder = data_root / "linked"
    folder.mkdir()
    os.symlink(tmp_path / "elsewhere" / "metadata.json", folder / "metadata.json")
    with pytest.raises(UnsafeTag):
        resolve_tag(data_root, ["linked"])


def test_symlinks_inside_the_root_are_followed_and_cycles_ignored(data_root: Path) -> None:
    real = write_tabular(data_root / "store" / "cohort_a", CSV, SCHEMA)
    os.symlink(data_root / "store", data_root / "alias")
    os.symlink(data_root, data_root / "store" / "loop")  # a cycle back to the root
    assert resolve_tag(data_root, ["alias", "cohort_a"]) == real.resolve()
    with pytest.raises(TagAmbiguous):  # reachable as store/cohort_a and alias/cohort_a
        resolve_tag(data_root, ["cohort_a"])


def test_missing_data_root_is_a_clear_404(tmp_path: Path) -> None:
    with pytest.raises(TagNotFound, match="data root"):
        resolve_tag(tmp_path / "nowhere", ["train"])
