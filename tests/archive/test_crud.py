"""Create (upsert), read, update and delete on every table kind."""

from __future__ import annotations

import re

import pytest

from synarchive import (
    TABLES,
    Archive,
    ArchiveClosedError,
    RecordNotFound,
    RecordValidationError,
    UnknownTableError,
)
from tests.archive.conftest import SAMPLES, create, sample

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
VALID_CHANGES = {
    "Project": {"start_at": "2024-01-01"},
    "Experiment": {"model": [{"l_type": "Linear", "structure": {"in_features": 3}}]},
    "Run": {"epochs": 3, "new_pass_through": "x"},
    "Participant": {"port": 8021, "verbose": True},
    "Registration": {"role": "host"},
    "Tag": {"predict": [["iid_2"]]},
    "Alignment": {"evaluate": {"X": [1], "y": []}},
    "Model": {"local_2": {"origin": "u2", "path": "/out/local_u2.safetensors"}},
    "Validation": {"evaluate": {"statistics": {"f_score": [1.0]}, "res_path": None}},
    "Prediction": {"predict": {"statistics": {"R2": 0.5}, "res_path": "/w"}},
    "Optimization": {"status": "running"},
    "Contribution": {"metric": "roc_auc_score"},
    "Job": {"status": "running", "progress": {"current": 1, "total": 2}},
    "MLflow": {"mlflow_id": "4"},
}


def test_every_table_has_a_sample() -> None:
    assert set(SAMPLES) == set(TABLES) == set(VALID_CHANGES)


@pytest.mark.parametrize("table", sorted(SAMPLES))
def test_crud_round_trip(archive: Archive, table: str) -> None:
    key, details = sample(table)
    created = create(archive, table)
    assert created["key"] == key
    assert created["kind"] == table
    assert ISO_UTC.match(created["created_at"])
    assert {name: created[name] for name in details} == details
    assert set(created["relations"]) == set(TABLES[table].children)
    link_field = TABLES[table].link_field
    if link_field:
        assert re.fullmatch(r"[0-9a-f]{32}", created["link"][link_field])
    else:
        assert "link" not in created

    assert archive.table(table).read(key) == created
    assert archive.table(table).read_all() == [created]

    changes = VALID_CHANGES[table]
    changed = archive.table(table).update(key, changes)
    assert {name: changed[name] for name in changes} == changes
    assert changed["key"] == key
    assert changed["created_at"] == created["created_at"]
    assert archive.table(table).read(key) == changed

    deleted = archive.table(table).delete(key)
    assert deleted["key"] == key
    assert archive.table(table).read(key) is None
    with pytest.raises(RecordNotFound):
        archive.table(table).delete(key)


def test_create_is_an_upsert_that_replaces_details(archive: Archive) -> None:
    key = {"project_id": "p1"}
    projects = archive.table("Project")
    first = projects.create(key, {"action": "classify", "incentives": {}, "start_at": "now"})
    second = projects.create(key, {"action": "regress", "incentives": {"t": []}})
    assert len(projects.read_all()) == 1
    assert second["action"] == "regress"
    assert "start_at" not in second  # details are replaced, not merged
    assert second["created_at"] == first["created_at"]  # creation time survives an upsert
    assert second["updated_at"] >= first["updated_at"]


def test_upsert_keeps_association_links(archive: Archive) -> None:
    create(archive, "Alignment")
    key = {"project_id": "p1", "participant_id": "u1"}
    registration = archive.table("Registration").read(key)
    tag = archive.table("Tag").read(key)
    alignment = archive.table("Alignment").read(key)
    registration_id = registration["link"]["registration_id"]
    assert tag["link"]["registration_id"] == registration_id
    assert alignment["link"] == {"registration_id": registration_id,
                                 "tag_id": tag["link"]["tag_id"],
                                 "alignment_id": alignment["link"]["alignment_id"]}
    again = archive.table("Registration").create(key, {"role": "host"})
    assert again["link"] == registration["link"]
    assert again["role"] == "host"
    assert archive.table("Tag").create(key, {"train": [["x"]]})["link"] == tag["link"]


def test_update_merges_top_level_fields(archive: Archive) -> None:
    create(archive, "Participant")
    key = {"participant_id": "u1"}
    updated = archive.table("Participant").update(key, {"host": "10.0.0.2", "socials": {"a": "b"}})
    assert updated["host"] == "10.0.0.2"
    assert updated["port"] == 8020  # untouched fields stay
    assert updated["socials"] == {"a": "b"}
    assert archive.table("Participant").read(key) == updated


@pytest.mark.parametrize("changes, field", [
    ({"key": {"participant_id": "u2"}}, "key"),
    ({"participant_id": "u2"}, "participant_id"),
    ({"created_at": "2020-01-01T00:00:00.000000Z"}, "created_at"),
    ({"kind": "Project"}, "kind"),
    ({"relations": {}}, "relations"),
])
def test_update_cannot_change_the_key_or_managed_fields(
    archive: Archive, changes: dict, field: str
) -> None:
    before = create(archive, "Participant")
    with pytest.raises(RecordValidationError) as caught:
        archive.table("Participant").update({"participant_id": "u1"}, changes)
    assert field in caught.value.errors
    assert archive.table("Participant").read({"participant_id": "u1"}) == before
    assert archive.table("Participant").read({"participant_id": "u2"}) is None


def test_update_cannot_change_a_link(archive: Archive) -> None:
    created = create(archive, "Model")
    with pytest.raises(RecordValidationError) as caught:
        archive.table("Model").update(created["key"], {"link": {"model_id": "mine"}})
    assert "link" in caught.value.errors
    assert archive.table("Model").read(created["key"])["link"] == created["link"]


def test_key_fields_repeated_in_details_must_match(archive: Archive) -> None:
    key, details = sample("Project")
    created = archive.table("Project").create(key, {**details, "project_id": "p1"})
    assert "project_id" not in created  # stored once, under `key`
    with pytest.raises(RecordValidationError) as caught:
        archive.table("Project").create(key, {**details, "project_id": "other"})
    assert "project_id" in caught.value.errors


def test_update_and_delete_of_missing_records_raise(archive: Archive) -> None:
    with pytest.raises(RecordNotFound, match="Run record"):
        archive.table("Run").update({"project_id": "p", "expt_id": "e", "run_id": "r"}, {})
    with pytest.raises(RecordNotFound):
        archive.table("Job").delete({"job_id": "nope"})
    assert archive.table("Job").read({"job_id": "nope"}) is None


def test_read_all_filters(archive: Archive) -> None:
    for project in ("p1", "p2"):
        for expt in ("e1", "e2"):
            create(archive, "Run", project_id=project, expt_id=expt)
    runs = archive.table("Run")
    assert [r["key"]["expt_id"] for r in runs.read_all({"project_id": "p2"})] == ["e1", "e2"]
    assert len(runs.read_all({"project_id": "p1", "expt_id": "e2"})) == 1
    assert len(runs.read_all({"run_id": "r1"})) == 4  # not an indexed prefix: scanned
    assert len(runs.read_all({"project_id": "p1", "rounds": 2})) == 2  # key + top-level
    assert runs.read_all({"project_id": "p1", "rounds": 3}) == []
    assert runs.read_all({"no_such_field": 1}) == []
    reg = create(archive, "Tag")
    by_link = archive.table("Tag").read_all({"tag_id": reg["link"]["tag_id"]})
    assert [t["key"] for t in by_link] == [reg["key"]]
    with pytest.raises(RecordValidationError):
        runs.read_all(["project_id"])  # type: ignore[arg-type]


def test_returned_records_are_copies(archive: Archive) -> None:
    key, details = sample("Experiment")
    created = archive.table("Experiment").create(key, details)
    details["model"][0]["l_type"] = "Changed after create"
    created["model"][0]["structure"]["in_features"] = -1
    created["key"]["expt_id"] = "tampered"
    stored = archive.table("Experiment").read(key)
    assert stored["model"][0]["l_type"] == "Linear"
    assert stored["model"][0]["structure"]["in_features"] == 15


def test_relations_are_never_stored(archive: Archive, archive_path) -> None:
    create(archive, "Project")
    create(archive, "Experiment")
    archive.table("Project").read({"project_id": "p1"})
    archive.table("Project").update({"project_id": "p1"}, {"start_at": "today"})
    archive.compact()
    assert b"relations" not in archive_path.read_bytes()


def test_unknown_table_and_closed_archive(archive_path) -> None:
    archive = Archive(archive_path)
    with pytest.raises(UnknownTableError, match="Project"):
        archive.table("Projects")
    projects = archive.table("Project")
    archive.close()
    archive.close()  # idempotent
    with pytest.raises(ArchiveClosedError):
        projects.read({"project_id": "p1"})
    with pytest.raises(ArchiveClosedError):
        projects.create(*sample("Project"))
