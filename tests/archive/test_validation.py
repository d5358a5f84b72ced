"""JSON-schema validation of every record kind; invalid input writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from synarchive import TABLES, Archive, RecordValidationError
from synarchive.schemas import SCHEMA_DIR
from tests.archive.conftest import create, sample

INVALID = [
    ("Project", {"action": "cluster", "incentives": {}}, "action"),
    ("Project", {"action": "classify"}, "incentives"),
    ("Project", {"action": "classify", "incentives": {}, "colour": "red"}, "colour"),
    ("Experiment", {"model": [{"l_type": 3}]}, "model.0.l_type"),
    ("Experiment", {"model": []}, "model"),
    ("Run", {"rounds": 0}, "rounds"),
    ("Run", {"epochs": 1.5}, "epochs"),
    ("Run", {"lr": "fast"}, "lr"),
    ("Participant", {"host": "h", "port": 70000}, "port"),
    ("Participant", {"port": 8020}, "host"),
    ("Registration", {"role": "boss"}, "role"),
    ("Registration", {"role": "host", "nodes": [{"host": "h", "port": 1}]}, "nodes.0.f_port"),
    ("Tag", {"train": [["a", 1]]}, "train.0.1"),
    ("Tag", {"train": ["a"]}, "train.0"),
    ("Alignment", {"train": {"X": [-1], "y": []}}, "train.X.0"),
    ("Model", {"global": {"origin": 5}}, "global.origin"),
    ("Model", {"local_1": "not an object"}, "local_1"),
    ("Validation", {"evaluate": {"statistics": []}}, "evaluate.statistics"),
    ("Prediction", {"predict": {"res_path": 1}}, "predict.res_path"),
    ("Optimization", {"optimize_mode": "sideways"}, "optimize_mode"),
    ("Job", {"status": "paused"}, "status"),
    ("Job", {"job_kind": "train"}, "status"),
    ("MLflow", {"mlflow_type": "model"}, "mlflow_type"),
]
# As updates, these are fine: the merge keeps the stored required field.
MISSING_REQUIRED = {("Project", "incentives"), ("Participant", "host"), ("Job", "status")}
INVALID_CHANGES = [case for case in INVALID if (case[0], case[2]) not in MISSING_REQUIRED]


@pytest.mark.parametrize("schema_file", sorted(SCHEMA_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_schemas_are_valid_draft_2020_12(schema_file: Path) -> None:
    schema = json.loads(schema_file.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_table_has_a_schema() -> None:
    assert {spec.schema for spec in TABLES.values()} == {p.stem for p in SCHEMA_DIR.glob("*.json")}


@pytest.mark.parametrize("table, details, path", INVALID,
                         ids=[f"{t}-{p}" for t, _, p in INVALID])
def test_invalid_details_name_the_field_and_write_nothing(
    archive: Archive, archive_path: Path, table: str, details: dict, path: str
) -> None:
    key, _ = sample(table)
    if table in ("Tag", "Alignment"):
        create(archive, "Alignment")  # registration + tag + a valid alignment
        archive.table("Alignment").delete(key)
    before_bytes = archive_path.read_bytes()
    before = archive.table(table).read(key)
    with pytest.raises(RecordValidationError) as caught:
        archive.table(table).create(key, details)
    assert path in caught.value.errors, caught.value.errors
    assert path in str(caught.value)
    assert archive.table(table).read(key) == before
    assert archive_path.read_bytes() == before_bytes


@pytest.mark.parametrize("table, details, path", INVALID_CHANGES,
                         ids=[f"{t}-{p}" for t, _, p in INVALID_CHANGES])
def test_invalid_updates_leave_the_record_unchanged(
    archive: Archive, archive_path: Path, table: str, details: dict, path: str
) -> None:
    original = create(archive, table)
    before_bytes = archive_path.read_bytes()
    with pytest.raises(RecordValidationError) as caught:
        archive.table(table).update(original["key"], details)
    assert path in caught.value.errors, caught.value.errors
    assert archive.table(table).read(original["key"]) == original
    assert archive_path.read_bytes() == before_bytes


@pytest.mark.parametrize("key, field", [
    ({}, "key.project_id"),
    ({"project_id": ""}, "key.project_id"),
    ({"project_id": 7}, "key.project_id"),
    ({"project_id": "p", "expt_id": "e"}, "key.expt_id"),
    ("p", "key"),
])
def test_bad_keys_are_rejected(archive: Archive, key: object, field: str) -> None:
    with pytest.raises(RecordValidationError) as caught:
        archive.table("Project").create(key, {"action": "regress", "incentives": {}})
    assert field in caught.value.errors
    with pytest.raises(RecordValidationError):
        archive.table("Project").read(key)
    assert archive.table("Project").read_all() == []


@pytest.mark.parametrize("details, field", [
    ({"action": "regress", "incentives": {"x": float("nan")}}, "incentives.x"),
    ({"action": "regress", "incentives": {"x": {1, 2}}}, "incentives.x"),
    ({"action": "regress", "incentives": {3: []}}, "incentives.3"),
    ({"action": "regress", "incentives": {}, "link": {}}, "link"),
    ({"action": "regress", "incentives": {}, "updated_at": "x"}, "updated_at"),
    ("not an object", "details"),
])
def test_values_json_cannot_hold_are_rejected(
    archive: Archive, details: object, field: str
) -> None:
    with pytest.raises(RecordValidationError) as caught:
        archive.table("Project").create({"project_id": "p"}, details)
    assert field in caught.value.errors
    assert archive.table("Project").read_all() == []


def test_tuples_are_stored_as_lists(archive: Archive) -> None:
    record = archive.table("Tag")
    create(archive, "Registration")
    created = record.create({"project_id": "p1", "participant_id": "u1"},
                            {"train": (("a", "b"),)})
    assert created["train"] == [["a", "b"]]
