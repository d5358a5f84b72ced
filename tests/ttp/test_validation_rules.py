"""Pure-logic checks of the boundary validators and the token redaction."""

from __future__ import annotations

import pytest

from synergos_ttp.api.records import public_record
from synergos_ttp.api.swagger import swagger_schema
from synergos_ttp.api.validation import (
    host_error,
    identifier_error,
    path_id_errors,
    schema_errors,
    tag_token_error,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "worker_1", "ttp.example.org",
                                  "a-b.c", "localhost."])
def test_good_hosts(host: str) -> None:
    assert host_error(host) is None


@pytest.mark.parametrize("host", ["", "bad host", "a..b", "-lead", "x/y", "http://a", 5, None,
                                  "a" * 64 + ".org"])
def test_bad_hosts(host: object) -> None:
    assert host_error(host)


PLAIN_TOKENS = ["non_iid_1", "tabular", "v1.2", "_private", "x" * 255]
UNSAFE_TOKENS = ["", ".", "..", "a/b", "/abs", "C:\\x", "a..b", "tab\t", "nul\x00", " pad",
                 "edge test", "ü-data", ".hidden", "x" * 256, 3]


@pytest.mark.parametrize("token", PLAIN_TOKENS)
def test_plain_tag_tokens(token: str) -> None:
    assert tag_token_error(token) is None


@pytest.mark.parametrize("token", UNSAFE_TOKENS)
def test_unsafe_tag_tokens(token: object) -> None:
    assert tag_token_error(token)


@pytest.mark.parametrize("token", PLAIN_TOKENS + UNSAFE_TOKENS)
def test_the_ttp_accepts_exactly_the_tokens_a_worker_resolves(token: object) -> None:
    from synergos_worker.datasets.errors import UnsafeTag
    from synergos_worker.datasets.tags import validate_tag

    try:
        validate_tag([token])
        worker_accepts = True
    except UnsafeTag:
        worker_accepts = False
    assert (tag_token_error(token) is None) == worker_accepts


def test_identifiers() -> None:
    assert identifier_error("test_project-1.2") is None
    for bad in ("", "../x", "a/b", ".hidden", "x" * 129, "sp ace", None):
        assert identifier_error(bad), bad


def test_path_ids_must_agree_with_body() -> None:
    assert path_id_errors({"project_id": "p1"}, {"project_id": "p1"}) == {}
    assert set(path_id_errors({"project_id": "p1"}, {"project_id": "p2"})) == {"project_id"}


def test_schema_errors_name_fields() -> None:
    errors = schema_errors("Participant", {"participant_id": "w", "port": "1", "x": 1},
                           create=True)
    assert set(errors) == {"host", "port", "x"}
    assert errors["host"] == "is required" and errors["port"] == "must be an integer"
    assert schema_errors("Participant", {"token": None}, create=False) == {}
    short = schema_errors("Participant", {"token": "s3cret"}, create=False)
    assert set(short) == {"token"} and "s3cret" not in short["token"]
    assert schema_errors("Project", [], create=True) == {"body": "must be a JSON object"}


def test_nullable_conversion() -> None:
    converted = swagger_schema({"properties": {"a": {"type": ["string", "null"]}}})
    assert converted == {"properties": {"a": {"type": "string", "x-nullable": True}}}


def test_swagger_form_of_exclusive_bounds_const_and_any_of() -> None:
    converted = swagger_schema({"type": "object", "properties": {
        "lr": {"type": "number", "exclusiveMinimum": 0},
        "clip": {"anyOf": [{"const": "auto"}, {"type": "number"}, {"type": "null"}]},
        "mode": {"const": "auto"}}})
    assert converted["properties"] == {
        "lr": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        "clip": {"x-nullable": True}, "mode": {"enum": ["auto"]}}


def test_tokens_are_stripped_at_every_depth() -> None:
    registration = {"kind": "Registration", "role": "host",
                    "nodes": [{"host": "h", "token": "n-secret"}]}
    participant = {"kind": "Participant", "host": "h", "token": "p-secret",
                   "relations": {"Registration": [registration]}}
    project = {"kind": "Project", "relations": {"Registration": [registration]}}
    for record in (participant, project):
        view = public_record(record)
        assert "secret" not in repr(view)
    assert participant["token"] == "p-secret"  # the stored record is not modified
