"""Boundary validation of connect request bodies: each function returns field -> message.

Nothing here touches the archive; the resources call these before writing anything, so a
request with any problem writes nothing.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

from jsonschema import Draft202012Validator

from synarchive.schema_errors import schema_errors as describe_schema_errors
from syncommon.metas import METAS
from synergos_ttp.api.schemas import (
    ID_DESCRIPTION,
    ID_PATTERN,
    TOKEN_DESCRIPTION,
    TOKEN_PATTERN,
    body_schema,
)
from synrest.names import tag_token_problem

_ID_RE = re.compile(ID_PATTERN)
_HOST_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
# What a failed `pattern` means, without repeating the value (it may be a Worker's token).
_PATTERN_MESSAGES = {
    ID_PATTERN: f"is not a valid identifier ({ID_DESCRIPTION})",
    TOKEN_PATTERN: f"must be a token of {TOKEN_DESCRIPTION}",
}


@functools.cache
def _validator(resource: str, create: bool) -> Draft202012Validator:
    return Draft202012Validator(body_schema(resource, create))


def schema_errors(resource: str, body: Any, create: bool) -> dict[str, str]:
    """Check `body` against the resource's create/update JSON schema; field path -> message."""
    if not isinstance(body, dict):
        return {"body": "must be a JSON object"}
    return describe_schema_errors(_validator(resource, create), body, "body", _PATTERN_MESSAGES)


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
