"""Relations on read and cascading deletes along the full composite key prefix."""

from __future__ import annotations

import pytest

from synarchive import Archive, RecordNotFound
from tests.archive.conftest import create, populate, snapshot


def keys(records: list[dict]) -> list[dict]:
    return [record["key"] for record in records]


def test_project_relations_hold_every_related_record(archive: Archive) -> None:
    populate(archive, "p1")
    relations = archive.table("Project").read({"project_id": "p1"})["relations"]
    assert {name: len(records) for name, records in relations.items()} == {
        "Experiment": 1, "Run": 1, "Registration": 1, "Tag": 1, "Alignment": 1, "Model": 1,
        "Validation": 1, "Prediction": 1, "Optimization": 1, "Contribution": 1,
    }
    assert all("relations" not in record for records in relations.values() for record in records)
    assert relations["Run"][0]["rounds"] == 2  # full records, not just keys


def test_relations_never_cross_projects(archive: Archive) -> None:
    populate(archive, "A")
    populate(archive, "B")
    expt_a = archive.table("Experiment").read({"project_id": "A", "expt_id": "e1"})
    assert keys(expt_a["relations"]["Run"]) == [
        {"project_id": "A", "expt_id": "e1", "run_id": "r1"}
    ]
    assert all(r["key"]["project_id"] == "A"
               for records in expt_a["relations"].values() for r in records)
    participant = archive.table("Participant").read({"participant_id": "u1"})
    assert sorted(r["key"]["project_id"] for r in participant["relations"]["Validation"]) == [
        "A", "B"
    ]


def test_deleting_an_experiment_leaves_the_same_expt_id_of_another_project(
    archive: Archive,
) -> None:
    """Cascades match the whole key, never `expt_id` alone across projects."""
    populate(archive, "A")
    populate(archive, "B")
    before_b = {name: [r for r in records if r["key"].get("project_id") == "B"]
                for name, records in snapshot(archive).items()}

    deleted = archive.table("Experiment").delete({"project_id": "A", "expt_id": "e1"})

    assert keys(deleted["relations"]["Run"]) == [
        {"project_id": "A", "expt_id": "e1", "run_id": "r1"}
    ]
    after = snapshot(archive)
    for name in ("Run", "Model", "Validation", "Prediction", "Optimization", "Contribution"):
        assert [r["key"]["project_id"] for r in after[name]] == ["B"], name
    assert archive.table("Experiment").read({"project_id": "B", "expt_id": "e1"}) is not None
    # project A itself and its registrations are not children of the experiment
    assert archive.table("Project").read({"project_id": "A"}) is not None
    assert len(archive.table("Registration").read_all({"project_id": "A"})) == 1
    for name, records in before_b.items():
        if name in ("Project", "Participant"):
            continue
        ours = [r for r in after[name] if r["key"].get("project_id") == "B"]
        assert [r["key"] for r in ours] == [r["key"] for r in records], name


def test_deleting_a_project_removes_all_its_records_only(archive: Archive) -> None:
    populate(archive, "A")
    populate(archive, "B")
    deleted = archive.table("Project").delete({"project_id": "A"})
    assert len(deleted["relations"]["Alignment"]) == 1
    for name, records in snapshot(archive).items():
        assert all(r["key"].get("project_id") in (None, "B") for r in records), name
    assert archive.table("Participant").read({"participant_id": "u1"}) is not None
    assert len(archive.table("Run").read_all()) == 1


def test_deleting_a_participant_removes_its_associations_only(archive: Archive) -> None:
    populate(archive, "A", participant="u1")
    create(archive, "Participant", participant_id="u2")
    create(archive, "Alignment", project_id="A", participant_id="u2")
    create(archive, "Validation", project_id="A", participant_id="u2")
    archive.table("Participant").delete({"participant_id": "u1"})
    for name in ("Registration", "Tag", "Alignment", "Validation"):
        assert [r["key"]["participant_id"] for r in archive.table(name).read_all()] == ["u2"]
    assert archive.table("Prediction").read_all() == []
    assert len(archive.table("Model").read_all()) == 1  # not a participant's child
    assert archive.table("Project").read({"project_id": "A"}) is not None


def test_registration_and_tag_cascades(archive: Archive) -> None:
    create(archive, "Alignment")
    key = {"project_id": "p1", "participant_id": "u1"}
    deleted_tag = archive.table("Tag").delete(key)
    assert len(deleted_tag["relations"]["Alignment"]) == 1
    assert archive.table("Alignment").read(key) is None
    assert archive.table("Registration").read(key) is not None
    create(archive, "Alignment")
    archive.table("Registration").delete(key)
    assert archive.table("Tag").read(key) is None
    assert archive.table("Alignment").read(key) is None


def test_tags_and_alignments_need_a_registration(archive: Archive) -> None:
    key = {"project_id": "p1", "participant_id": "u1"}
    with pytest.raises(RecordNotFound, match="Registration"):
        archive.table("Tag").create(key, {"train": [["a"]]})
    with pytest.raises(RecordNotFound, match="Registration"):
        archive.table("Alignment").create(key, {"train": {"X": [], "y": []}})
    archive.table("Registration").create(key, {"role": "host"})
    with pytest.raises(RecordNotFound, match="Tag"):
        archive.table("Alignment").create(key, {"train": {"X": [], "y": []}})
    assert archive.table("Tag").read_all() == [] and archive.table("Alignment").read_all() == []


def test_run_deletion_cascades_to_model_validation_prediction(archive: Archive) -> None:
    populate(archive, "A")
    create(archive, "Run", project_id="A", run_id="r2")
    create(archive, "Model", project_id="A", run_id="r2")
    archive.table("Run").delete({"project_id": "A", "expt_id": "e1", "run_id": "r1"})
    assert [m["key"]["run_id"] for m in archive.table("Model").read_all()] == ["r2"]
    assert archive.table("Validation").read_all() == []
    assert archive.table("Prediction").read_all() == []
    assert len(archive.table("Optimization").read_all()) == 1  # an experiment's child only
