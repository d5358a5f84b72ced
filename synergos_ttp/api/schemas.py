"""JSON schemas of the connect request bodies: documented in OpenAPI and enforced at the boundary.

The schemas are JSON Schema (draft 2020-12): `synergos_ttp.api.validation` checks bodies with
them, `synergos_ttp.api.swagger` rewrites them for the Swagger 2.0 document. Semantic checks
that a schema cannot express (hosts, tag tokens, model specs, run configs) live in
`synergos_ttp.api.validation` too. A run's fields come from their declarations
(`synalgo.run_schema`).
"""

from __future__ import annotations

import copy
from typing import Any

from synalgo.run_schema import run_properties
from synarchive.schemas import load_schema
from synarchive.tables import TABLES

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
ID_DESCRIPTION = "1-128 characters: letters, digits, '_', '-', '.'; starts with a letter or digit"
# The enumerations a stored record may hold are the archive's (`synarchive/schemas/`).
PROJECT_ACTIONS: tuple[str, ...] = tuple(load_schema("project")["properties"]["action"]["enum"])
REGISTRATION_ROLES: tuple[str, ...] = tuple(
    load_schema("registration")["properties"]["role"]["enum"])
TAG_METAS: tuple[str, ...] = tuple(load_schema("tag")["properties"])


def id_field(description: str) -> dict[str, Any]:
    """Schema of a record identifier (usable in URLs and file names)."""
    return {"type": "string", "pattern": ID_PATTERN,
            "description": f"{description}; {ID_DESCRIPTION}"}


_ID_NAMES = {"project_id": "project", "expt_id": "experiment", "run_id": "run",
             "participant_id": "participant"}


def key_id_fields(kind: str, new: str | None = None) -> dict[str, Any]:
    """Body schemas of the key fields of a `kind` record (`synarchive.tables`): `new` is the
    id the body brings, every other one repeats an id of the URL."""
    return {name: id_field(f"{_ID_NAMES[name]} identifier" if name == new
                           else f"must equal the {_ID_NAMES[name]} in the URL")
            for name in TABLES[kind].key_fields}


def stored_field(table_schema: str, name: str) -> dict[str, Any]:
    """The archive's schema of field `name` of a record (`synarchive/schemas/<table>.json`):
    what a body may hold where it is stored as given."""
    field: dict[str, Any] = load_schema(table_schema)["properties"][name]
    return field


def port_field(description: str) -> dict[str, Any]:
    """Schema of a TCP port number."""
    return {**stored_field("participant", "port"), "description": description}


HOST_FIELD: dict[str, Any] = {
    **stored_field("participant", "host"),
    "description": "IPv4/IPv6 address or DNS name of the Worker",
}
TOKEN_PATTERN = r"^[!-~]{16,512}$"
TOKEN_DESCRIPTION = "16-512 printable ASCII characters without spaces"
TOKEN_FIELD: dict[str, Any] = {
    "type": ["string", "null"], "pattern": TOKEN_PATTERN,
    "description": f"bearer token of the Worker ({TOKEN_DESCRIPTION}); write-only (stored, "
                   "never returned); null removes it",
}
TAG_LIST_FIELD: dict[str, Any] = {
    **stored_field("tag", "train"),
    "description": "list of tags; a tag is a list of plain-name tokens (dataset folder names)",
}
LAYER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "one layer: a torch.nn class with its constructor arguments",
    "properties": {
        "is_input": {"type": "boolean"},
        "l_type": {"type": "string", "description": "allow-listed torch.nn class, e.g. Linear"},
        "structure": {"type": "object", "description": "constructor arguments of l_type"},
        "activation": {
            "type": ["string", "null"],
            "description": "allow-listed torch.nn.functional name, e.g. relu, sigmoid",
        },
    },
    "required": ["l_type"],
}
SECURE_FIELD: dict[str, Any] = {
    "type": "boolean",
    "description": "true: the TTP reaches this Worker over HTTPS, verifying its certificate "
                   "and hostname against the TTP's --worker_ca (default false: plain HTTP)",
}
NODE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": HOST_FIELD,
        "port": port_field("data port of the Worker (default 8020)"),
        "f_port": port_field("command port of the Worker (default 5000)"),
        "log_msgs": {"type": "boolean"},
        "verbose": {"type": "boolean"},
        "token": TOKEN_FIELD,
        "secure": SECURE_FIELD,
    },
    "required": ["host"],
    "additionalProperties": False,
}


def _body(properties: dict[str, Any], required: list[str], extra: bool = False) -> dict[str, Any]:
    return {
        "type": "object", "properties": properties, "required": required,
        "additionalProperties": extra,
    }


_PROJECT_FIELDS = {
    **key_id_fields("Project", new="project_id"),
    "action": {"type": "string", "enum": list(PROJECT_ACTIONS), "description": "ML task"},
    "incentives": {"type": "object", "description": "free-form incentive tiers (default {})"},
    "start_at": {"type": "string", "maxLength": 64, "description": "informational start time"},
}
_EXPERIMENT_FIELDS = {
    **key_id_fields("Experiment", new="expt_id"),
    "model": {"type": "array", "minItems": 1, "items": LAYER_SCHEMA,
              "description": "ordered list of layers"},
}
_RUN_FIELDS = {
    **key_id_fields("Run", new="run_id"),
    **run_properties(),
}
_PARTICIPANT_FIELDS = {
    **key_id_fields("Participant", new="participant_id"),
    "host": HOST_FIELD,
    "port": port_field("data port of the Worker (default 8020)"),
    "f_port": port_field("command port of the Worker (default 5000)"),
    "log_msgs": {"type": "boolean", "description": "default false"},
    "verbose": {"type": "boolean", "description": "default false"},
    "token": TOKEN_FIELD,
    "secure": SECURE_FIELD,
    "category": {"type": "array", "items": {"type": "string", "maxLength": 256}},
    "summary": {"type": "string", "maxLength": 4096},
    "phone": {"type": "string", "maxLength": 64},
    "email": {"type": "string", "maxLength": 320},
    "socials": {"type": "object"},
}
PARTICIPANT_DEFAULTS: dict[str, Any] = {"port": 8020, "f_port": 5000, "log_msgs": False,
                                        "verbose": False, "secure": False}
NODE_DEFAULTS = PARTICIPANT_DEFAULTS
PROJECT_DEFAULTS: dict[str, Any] = {"incentives": {}}
TAG_DEFAULTS: dict[str, Any] = {"evaluate": [], "predict": []}
_REGISTRATION_FIELDS = {
    **key_id_fields("Registration"),
    "role": {"type": "string", "enum": list(REGISTRATION_ROLES)},
    "nodes": {
        "type": "array", "minItems": 1, "maxItems": 64, "items": NODE_SCHEMA,
        "description": "Worker nodes (one per sub-grid); default: the participant's own",
    },
}
_TAG_FIELDS = {
    **key_id_fields("Tag"),
    **{meta: TAG_LIST_FIELD for meta in TAG_METAS},
}

# Per resource: (create body, update body). Updates are partial: nothing is required.
BODY_SCHEMAS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "Project": (_body(_PROJECT_FIELDS, ["project_id", "action"]), _body(_PROJECT_FIELDS, [])),
    "Experiment": (_body(_EXPERIMENT_FIELDS, ["expt_id", "model"]),
                   _body(_EXPERIMENT_FIELDS, [])),
    "Run": (_body(_RUN_FIELDS, ["run_id"], extra=True), _body(_RUN_FIELDS, [], extra=True)),
    "Participant": (_body(_PARTICIPANT_FIELDS, ["participant_id", "host"]),
                    _body(_PARTICIPANT_FIELDS, [])),
    "Registration": (_body(_REGISTRATION_FIELDS, ["role"]), _body(_REGISTRATION_FIELDS, [])),
    "Tag": (_body(_TAG_FIELDS, ["train"]), _body(_TAG_FIELDS, [])),
}


def body_schema(resource: str, create: bool) -> dict[str, Any]:
    """A copy of the create (or update) body schema of `resource`."""
    create_schema, update_schema = BODY_SCHEMAS[resource]
    return copy.deepcopy(create_schema if create else update_schema)
