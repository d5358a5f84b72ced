"""JSON schemas (draft 2020-12) of each table's details, and validation into field errors."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).with_name("schemas")
_MAX_MESSAGE = 200


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
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(details), key=lambda e: list(map(str, e.path))):
        for path, message in _describe(error):
            errors.setdefault(path, message)
    return errors


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    """Turn one jsonschema error into (field path, message) pairs naming the exact field."""
    base = ".".join(str(part) for part in error.absolute_path)
    instance = error.instance
    schema: Any = error.schema  # jsonschema types it loosely (bool or Unset too)
    required: Any = error.validator_value
    if error.validator == "required" and isinstance(instance, dict):
        return [(_join(base, name), "is required")
                for name in required if name not in instance]
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = set(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        extra = [name for name in instance if name not in allowed
                 and not any(_matches(pattern, name) for pattern in patterns)]
        return [(_join(base, name), "is not an allowed field") for name in extra]
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return [(base or "details", message)]


def _matches(pattern: str, name: str) -> bool:
    return re.search(pattern, name) is not None


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name
