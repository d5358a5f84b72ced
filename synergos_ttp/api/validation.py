"""Boundary validation of connect request bodies: each function returns field -> message.

Nothing here touches the archive; the resources call these before writing anything, so a
request with any problem writes nothing.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError as SchemaError

from syncommon.metas import METAS
from synergos_ttp.api.schemas import (
    ID_DESCRIPTION,
    ID_PATTERN,
    TOKEN_DESCRIPTION,
    TOKEN_PATTERN,
    body_schema,
    nullable_to_json_schema,
)
from synrest.names import tag_token_problem

_ID_RE = re.compile(ID_PATTERN)
_HOST_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_SIZE_MESSAGES = {
    "minLength": "must have at least {} characters", "maxLength": "must have at most {} characters",
    "minItems": "must have at least {} items", "maxItems": "must have at most {} items",
}
_TYPE_NAMES = {
    "object": "an object", "array": "a list", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "a boolean", "null": "null",
}


@functools.cache
def _validator(resource: str, create: bool) -> Draft7Validator:
    return Draft7Validator(nullable_to_json_schema(body_schema(resource, create)))


def schema_errors(resource: str, body: Any, create: bool) -> dict[str, str]:
    """Check `body` against the resource's create/update JSON schema; field path -> message."""
    if not isinstance(body, dict):
        return {"body": "must be a JSON object"}
    errors: dict[str, str] = {}
    for error in _validator(resource, create).iter_errors(body):
        for field, message in _describe(error):
            errors.setdefault(field, message)
    return errors


def _describe(error: SchemaError) -> list[tuple[str, str]]:
    path = ".".join(str(part) for part in error.absolute_path)
    prefix = f"{path}." if path else ""
    schema: Any = error.schema  # jsonschema types it loosely (bool or Unset too)
    value: Any = error.validator_value
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return [(prefix + name, "is required") for name in missing] or [(path, error.message)]
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {})))
        instance: Any = error.instance
        extras = sorted(set(instance) - set(schema.get("properties", {})))
        return [(prefix + name, f"unknown field; allowed: {allowed}") for name in extras]
    field = path or "body"
    if error.validator == "type":
        names: list[str] = value if isinstance(value, list) else [value]
        return [(field, "must be " + " or ".join(_TYPE_NAMES.get(n, n) for n in names))]
    if error.validator == "enum":
        return [(field, "must be one of " + ", ".join(map(str, value)))]
    # The messages below never repeat the value: it may be a secret (a Worker token).
    if error.validator == "pattern":
        if value == ID_PATTERN:
            return [(field, f"is not a valid identifier ({ID_DESCRIPTION})")]
        if value == TOKEN_PATTERN:
            return [(field, f"must be a token of {TOKEN_DESCRIPTION}")]
        return [(field, "does not have the expected format")]
    if error.validator in ("minimum", "maximum"):
        return [(field, f"must be between {_bounds(schema)}")]
    if error.validator in _SIZE_MESSAGES:
        return [(field, _SIZE_MESSAGES[str(error.validator)].format(value))]
    return [(field, f"is invalid ({error.validator})")]


def _bounds(schema: dict[str, Any]) -> str:
    return f"{schema.get('minimum', '-inf')} and {schema.get('maximum', 'inf')}"


def identifier_error(value: Any) -> str | None:
    """None when `value` is a valid record identifier, else the reason."""
    if isinstance(value, str) and _ID_RE.match(value):
        return None
    return f"is not a valid identifier ({ID_DESCRIPTION})"


def path_id_errors(path_ids: dict[str, str], body: dict[str, Any]) -> dict[str, str]:
    """Ids in the URL must be valid; ids repeated in the body must agree with the URL."""
    errors: dict[str, str] = {}
    for name, value in path_ids.items():
        problem = identifier_error(value)
        if problem:
            errors[name] = problem
        elif name in body and body[name] != value:
            errors[name] = f"is {body[name]!r} in the body but {value!r} in the URL"
    return errors


def host_error(host: Any) -> str | None:
    """None when `host` is an IP address or a DNS name (underscores allowed, as in Docker)."""
    if not isinstance(host, str) or not host:
        return "must be a non-empty string"
    try:
        ipaddress.ip_address(host.strip("[]") if host.startswith("[") else host)
        return None
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if len(name) <= 253 and all(_HOST_LABEL_RE.match(label) for label in labels):
        return None
    return "must be an IP address or a host name (letters, digits, '-', '_', dots)"


def tag_token_error(token: Any) -> str | None:
    """None when `token` is a plain name a Worker can resolve (`synrest.names`)."""
    return tag_token_problem(token)


def tag_errors(body: dict[str, Any]) -> dict[str, str]:
    """Token checks for the `train`/`evaluate`/`predict` tag lists of a (schema-valid) body."""
    errors: dict[str, str] = {}
    for meta in METAS:
        for tag_index, tag in enumerate(body.get(meta) or []):
            for token_index, token in enumerate(tag):
                problem = tag_token_error(token)
                if problem:
                    errors[f"{meta}.{tag_index}.{token_index}"] = problem
    return errors


def node_errors(nodes: list[dict[str, Any]] | None, field: str = "nodes") -> dict[str, str]:
    """Host checks for registration nodes (ports and fields are checked by the schema)."""
    errors: dict[str, str] = {}
    for index, node in enumerate(nodes or []):
        problem = host_error(node.get("host"))
        if problem:
            errors[f"{field}.{index}.host"] = problem
    return errors
