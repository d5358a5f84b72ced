"""JSON schemas (draft 2020-12) of each table's details, and validation into field errors."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from synarchive.schema_errors import schema_errors

SCHEMA_DIR = Path(__file__).with_name("schemas")


def load_schema(name: str) -> dict[str, Any]:
    """The schema document `synarchive/schemas/<name>.json`."""
    path = SCHEMA_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LookupError(f"no archive schema named {name!r} ({path})") from None


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_details(schema_name: str, details: dict[str, Any]) -> dict[str, str]:
    """Field path -> message for every problem of `details`; empty when valid."""
    validator = _validator(schema_name)
    if validator.is_valid(details):
        return {}
    return schema_errors(validator, details, "details")
