"""The run record is declared once: the defaults, the checks, the REST API's run schema and the
archive's run schema all come from the run-field declarations."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from synalgo.run_config import FIELD_CHECKS, RUN_DEFAULTS
from synalgo.run_schema import ARCHIVE_SCHEMA_PATH, RUN_FIELDS, render_archive_run_schema
from synarchive.schemas import validate_details
from synergos_ttp.api.schemas import body_schema
from synergos_ttp.api.validation import schema_errors


def test_archive_run_schema_file_is_generated_from_the_declarations() -> None:
    written = ARCHIVE_SCHEMA_PATH.read_text(encoding="utf-8")
    assert written == render_archive_run_schema(), (
        "synarchive/schemas/run.json is stale: run `python -m synalgo.run_schema`")


def test_every_run_field_is_declared_once_with_a_valid_schema() -> None:
    names = [field.name for field in RUN_FIELDS]
    assert len(names) == len(set(names))
    assert set(RUN_DEFAULTS) <= set(names)
    for field in RUN_FIELDS:
        Draft202012Validator.check_schema(field.json_schema())
        assert field.json_schema(), f"{field.name} has no schema"


def test_api_and_archive_read_the_same_schema_for_rounds() -> None:
    archive = json.loads(ARCHIVE_SCHEMA_PATH.read_text(encoding="utf-8"))
    api = body_schema("Run", create=True)
    assert api["properties"]["rounds"] == archive["properties"]["rounds"]
    assert archive["properties"]["rounds"]["minimum"] == 1


@pytest.mark.parametrize("field", [field for field in RUN_FIELDS if field.check is not None],
                         ids=lambda field: field.name)
def test_check_and_schema_agree_on_samples(field) -> None:
    validator = Draft202012Validator(field.json_schema())
    for value in (None, True, False, -1, 0, 1, 2, 0.25, 0.5, 1.5, 2**63, "auto", "none",
                  "int8", "accuracy", "exact", "x", [], {}):
        checked = FIELD_CHECKS[field.name](value) is None
        assert checked == validator.is_valid(value), (field.name, value)


@pytest.mark.parametrize(("details", "field"), [
    ({"rounds": 0}, "rounds"), ({"lr": 0}, "lr"), ({"update_clip": -1}, "update_clip"),
    ({"mu": -1}, "mu"), ({"batch_size": 0}, "batch_size"), ({"seed": -5}, "seed"),
])
def test_a_bad_run_field_is_named_by_the_api_and_the_archive(details: dict, field: str) -> None:
    api = schema_errors("Run", {"run_id": "r1", **details}, create=True)
    stored = validate_details("run", details)
    assert field in api and field in stored
    assert api[field] == stored[field]
