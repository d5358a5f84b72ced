"""JSON-schema (draft 2020-12) errors as field path -> message, for the archive and the APIs.

Messages name the field and the rule, never the value (it may be a secret such as a token).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {
    "object": "an object", "array": "a list", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "a boolean", "null": "null",
}
_SIZE_MESSAGES = {
    "minLength": "must have at least {} characters", "maxLength": "must have at most {} characters",
    "minItems": "must have at least {} items", "maxItems": "must have at most {} items",
}
_BOUNDS = (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
           ("exclusiveMaximum", "<"))


def schema_errors(validator: Draft202012Validator, instance: Any, root: str,
                  pattern_messages: Mapping[str, str] | None = None) -> dict[str, str]:
    """Field path -> message for every problem of `instance` (empty when valid).

    `root` names the instance itself (a problem of the whole object); `pattern_messages`
    says what a `pattern` stands for (e.g. an identifier's rules)."""
    errors: dict[str, str] = {}
    found = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    for error in found:
        for path, message in _describe(error, root, pattern_messages or {}):
            errors.setdefault(path, message)
    return errors


def _describe(error: ValidationError, root: str,
              pattern_messages: Mapping[str, str]) -> list[tuple[str, str]]:
    base = ".".join(str(part) for part in error.absolute_path)
    field = base or root
    instance: Any = error.instance
    schema: Any = error.schema  # jsonschema types it loosely (bool or Unset too)
    value: Any = error.validator_value
    rule = str(error.validator)
    if rule == "required" and isinstance(instance, dict):
        return [(_join(base, name), "is required") for name in value if name not in instance]
    if rule == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        extra = [name for name in instance if name not in allowed
                 and not any(re.search(pattern, name) for pattern in patterns)]
        listed = ", ".join(sorted(allowed))
        return [(_join(base, name), f"unknown field; allowed: {listed}")
                for name in extra]
    if rule == "pattern":
        return [(field, pattern_messages.get(value, "does not have the expected format"))]
    if rule in _SIZE_MESSAGES:
        return [(field, _SIZE_MESSAGES[rule].format(value))]
    if rule == "type":
        return [(field, "must be " + " or ".join(_type_names(value)))]
    if rule in ("anyOf", "oneOf"):
        return [(field, "must be " + " or ".join(_expected(option) for option in value))]
    return [(field, "must be " + _expected(schema) if rule in _EXPECTED_RULES
             else f"is invalid ({rule})")]


_EXPECTED_RULES = frozenset({"enum", "const", *(name for name, _ in _BOUNDS)})


def _expected(schema: Any) -> str:
    """What `schema` accepts, in words: 'an integer >= 1', 'one of a, b', '"auto"'."""
    if not isinstance(schema, dict):
        return "valid"
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    names = _type_names(schema.get("type", []))
    bounds = " and ".join(f"{sign} {schema[name]}" for name, sign in _BOUNDS if name in schema)
    if bounds and names and names[0] != "null":
        names[0] = f"{names[0]} {bounds}"
    elif bounds:
        names.append(bounds)
    return " or ".join(names) or "valid"


def _type_names(kinds: Any) -> list[str]:
    """'an integer', 'null', ... for a schema's `type` (one name or a list)."""
    listed = kinds if isinstance(kinds, list) else [kinds]
    return [_TYPE_NAMES.get(str(kind), str(kind)) for kind in listed]


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name
