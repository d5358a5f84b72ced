"""The one translator of JSON-schema errors: each message names the field and the rule and
never repeats the value."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from synarchive.schema_errors import schema_errors

SCHEMA = {
    "type": "object",
    "properties": {
        "rounds": {"type": "integer", "minimum": 1},
        "lr": {"type": "number", "exclusiveMinimum": 0},
        "clip": {"anyOf": [{"const": "auto"}, {"type": "number", "exclusiveMinimum": 0},
                           {"type": "null"}]},
        "token": {"type": ["string", "null"], "pattern": "^[a-z]{16,}$"},
        "role": {"enum": ["host", "guest"]},
        "nodes": {"type": "array", "items": {"type": "object", "required": ["host"]}},
    },
    "required": ["rounds"],
    "additionalProperties": False,
}


def errors_of(instance: dict) -> dict[str, str]:
    return schema_errors(Draft202012Validator(SCHEMA), instance, "body",
                         {"^[a-z]{16,}$": "must be a token of 16 or more letters"})


def test_each_rule_is_said_in_words_at_its_field() -> None:
    errors = errors_of({"rounds": 0, "lr": 0, "clip": -1, "token": "SECRET-value",
                        "role": "boss", "nodes": [{}], "colour": 1})
    assert errors == {
        "rounds": "must be an integer >= 1",
        "lr": "must be a number > 0",
        "clip": 'must be "auto" or a number > 0 or null',
        "token": "must be a token of 16 or more letters",
        "role": "must be one of host, guest",
        "nodes.0.host": "is required",
        "colour": "unknown field; allowed: clip, lr, nodes, role, rounds, token",
    }
    assert "SECRET" not in repr(errors)


def test_missing_and_mistyped_fields() -> None:
    assert errors_of({"lr": "fast"}) == {"rounds": "is required", "lr": "must be a number"}
    assert errors_of({"rounds": 1}) == {}
