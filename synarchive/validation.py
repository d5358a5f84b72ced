"""Checks of the keys, details, changes and filters handed to a RecordTable."""

from __future__ import annotations

from typing import Any

from synarchive.errors import RecordValidationError
from synarchive.jsonvalues import normalise_json
from synarchive.schemas import validate_details
from synarchive.tables import RESERVED_FIELDS, TableSpec

# Reserved fields that details may repeat when they hold the same value (they are dropped).
_ECHOABLE = ("key", "kind")


def check_key(spec: TableSpec, key: Any) -> dict[str, str]:
    """The key with exactly the table's key fields (in key order), each a non-empty string."""
    if not isinstance(key, dict):
        fields = ", ".join(spec.key_fields)
        raise RecordValidationError(
            {"key": f"must be an object with the fields {fields}"}, spec.name
        )
    errors: dict[str, str] = {}
    for field in spec.key_fields:
        if field not in key:
            errors[f"key.{field}"] = "is required"
        elif not isinstance(key[field], str) or not key[field]:
            errors[f"key.{field}"] = "must be a non-empty string"
    listed = ", ".join(spec.key_fields)
    for field in key:
        if field not in spec.key_fields:
            errors[f"key.{field}"] = f"is not a key field of {spec.name} ({listed})"
    if errors:
        raise RecordValidationError(errors, spec.name)
    return {field: key[field] for field in spec.key_fields}


def clean_fields(
    spec: TableSpec, key: dict[str, str], fields: Any, what: str
) -> dict[str, Any]:
    """A JSON copy of `fields` (details or changes) without the ones the key already holds.

    Key fields (and `key`/`kind`) may appear only with the record's own values; the other
    archive-managed fields (`created_at`, `updated_at`, `link`, `relations`) may not appear.
    """
    if not isinstance(fields, dict):
        raise RecordValidationError({what: "must be an object"}, spec.name)
    own = {**key, "key": key, "kind": spec.name}
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if not isinstance(name, str):
            errors[str(name)] = "field names must be strings"
        elif name in spec.key_fields or name in _ECHOABLE:
            if value != own[name]:
                errors[name] = (
                    f"cannot differ from the record's key ({own[name]!r}); "
                    "a key cannot be changed"
                )
        elif name in RESERVED_FIELDS:
            errors[name] = "is managed by the archive and cannot be written"
        else:
            cleaned[name] = normalise_json(value, name, errors)
    if errors:
        raise RecordValidationError(errors, spec.name)
    return cleaned


def check_details(spec: TableSpec, details: dict[str, Any]) -> None:
    """Raise RecordValidationError unless `details` satisfies the table's JSON schema."""
    errors = validate_details(spec.schema, details)
    if errors:
        raise RecordValidationError(errors, spec.name)


def check_filters(spec: TableSpec, filters: Any) -> dict[str, Any]:
    """A filter object: field name -> value to equal (a key, link or top-level field)."""
    if filters is None:
        return {}
    if not isinstance(filters, dict) or not all(isinstance(name, str) for name in filters):
        raise RecordValidationError(
            {"filters": "must be an object mapping field names to values"}, spec.name
        )
    return filters


def stored_details(doc: dict[str, Any]) -> dict[str, Any]:
    """The details part of a stored document (everything the archive does not manage)."""
    return {name: value for name, value in doc.items() if name not in RESERVED_FIELDS}
