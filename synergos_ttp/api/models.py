"""Shared OpenAPI models of the TTP routes: request bodies, record envelopes, error envelope.

Responses are built by hand (`synrest.envelope.success`) and documented with these JSON-schema
models, which describe exactly what the handlers return (records keep every stored field).
"""

from __future__ import annotations

import copy
from typing import Any

from flask_restx import Namespace
from flask_restx.model import SchemaModel

from synalgo.run_fields import PLATFORM_DEFAULTS
from synalgo.run_schema import run_properties
from synarchive.tables import TABLES, link_fields
from synergos_ttp.api.schemas import (
    NODE_SCHEMA,
    PROJECT_ACTIONS,
    REGISTRATION_ROLES,
    TAG_LIST_FIELD,
    TAG_METAS,
    body_schema,
)
from synergos_ttp.api.swagger import swagger_schema
from synergos_ttp.jobs.records import JOB_STATUSES

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": "string", "x-nullable": True}
_INTEGER = {"type": "integer"}
_NUMBER = {"type": "number"}
_BOOLEAN = {"type": "boolean"}
_OBJECT = {"type": "object"}

_PUBLIC_NODE = {
    "type": "object",
    "properties": {name: NODE_SCHEMA["properties"][name]
                   for name in ("host", "port", "f_port", "log_msgs", "verbose", "secure")},
    "required": ["host", "port", "f_port"],
}
# A stored run holds every platform field (`synalgo.run_config.normalise_run` fills them).
_RUN_DETAILS = ({name: schema for name, schema in run_properties().items()},
                list(PLATFORM_DEFAULTS))
# Per record kind: (detail properties, required detail names).
DETAILS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "Project": ({"action": {"type": "string", "enum": list(PROJECT_ACTIONS)},
                 "incentives": _OBJECT, "start_at": _NULLABLE_STRING}, ["action", "incentives"]),
    "Experiment": ({"model": {"type": "array", "items": _OBJECT}}, ["model"]),
    "Run": _RUN_DETAILS,
    "Participant": ({"host": _STRING, "port": _INTEGER, "f_port": _INTEGER,
                     "log_msgs": _BOOLEAN, "verbose": _BOOLEAN, "secure": _BOOLEAN},
                    ["host", "port", "f_port", "log_msgs", "verbose"]),
    "Registration": ({"role": {"type": "string", "enum": list(REGISTRATION_ROLES)},
                      "nodes": {"type": "array", "items": _PUBLIC_NODE}}, ["role", "nodes"]),
    "Tag": ({meta: TAG_LIST_FIELD for meta in TAG_METAS}, list(TAG_METAS)),
}


def record_schema(kind: str) -> dict[str, Any]:
    """JSON schema of one archive record of `kind` as the connect routes return it."""
    properties, required = copy.deepcopy(DETAILS[kind])
    spec = TABLES[kind]
    key_fields = spec.key_fields
    properties.update({
        "key": {"type": "object", "properties": {name: _STRING for name in key_fields},
                "required": list(key_fields)},
        "kind": {"type": "string", "enum": [kind]},
        "created_at": _STRING,
        "updated_at": _STRING,
        "relations": {"type": "object", "description": "child table -> related records",
                      "additionalProperties": {"type": "array", "items": _OBJECT}},
    })
    required = [*required, "key", "kind", "created_at", "updated_at", "relations"]
    links = link_fields(kind)
    if links:
        properties["link"] = {"type": "object", "required": list(links),
                              "properties": {name: _STRING for name in links}}
        required.append("link")
    return {"type": "object", "properties": properties, "required": required}


def job_schema() -> dict[str, Any]:
    """JSON schema of a job record (`synergos_ttp.jobs.records.job_view`)."""
    progress = {
        "type": "object", "required": ["current", "total", "unit", "message"],
        "properties": {"current": _INTEGER, "total": {"type": "integer", "x-nullable": True},
                       "unit": _STRING, "message": _STRING},
    }
    properties = {
        "job_id": _STRING, "kind": _STRING,
        "status": {"type": "string", "enum": list(JOB_STATUSES)},
        "params": _OBJECT, "progress": progress,
        "error": _NULLABLE_STRING, "result": {"type": "object", "x-nullable": True},
        "created_at": _NULLABLE_STRING, "started_at": _NULLABLE_STRING,
        "finished_at": _NULLABLE_STRING, "checkpoint": {"type": "object", "x-nullable": True},
        "cancel_requested": _BOOLEAN, "attempts": _INTEGER,
    }
    return {"type": "object", "properties": properties, "required": list(properties)}


def envelope_schema(data: dict[str, Any]) -> dict[str, Any]:
    """JSON schema of a success envelope whose `data` follows `data`."""
    return {
        "type": "object",
        "required": ["apiVersion", "success", "status", "method", "params", "data"],
        "properties": {
            "apiVersion": _STRING, "success": {"type": "integer", "enum": [1]},
            "status": _INTEGER, "method": _STRING, "params": _OBJECT, "data": data,
        },
    }


ERROR_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "success", "status", "method", "params", "data", "message"],
    "properties": {
        "apiVersion": _STRING, "success": {"type": "integer", "enum": [0]}, "status": _INTEGER,
        "method": _NULLABLE_STRING, "params": _OBJECT,
        "data": {"type": "object", "x-nullable": True, "description": "always null"},
        "message": _STRING,
        "errors": {"type": "object", "additionalProperties": _STRING,
                   "description": "field path -> problem"},
    },
}


def _model(ns: Namespace, name: str, schema: dict[str, Any]) -> SchemaModel:
    existing = ns.models.get(name)
    return existing if existing is not None else ns.schema_model(name, schema)


def error_model(ns: Namespace) -> SchemaModel:
    """The error envelope model, registered on `ns`."""
    return _model(ns, "ErrorEnvelope", ERROR_ENVELOPE_SCHEMA)


def record_models(ns: Namespace, kind: str) -> tuple[SchemaModel, SchemaModel]:
    """(one-record envelope, record-list envelope) models of `kind`, registered on `ns`."""
    record = swagger_schema(record_schema(kind))
    single = _model(ns, f"{kind}Envelope", envelope_schema(record))
    many = _model(ns, f"{kind}ListEnvelope", envelope_schema({"type": "array", "items": record}))
    return single, many


def job_models(ns: Namespace) -> tuple[SchemaModel, SchemaModel]:
    """(one-job envelope, job-list envelope) models, registered on `ns`."""
    job = job_schema()
    single = _model(ns, "JobEnvelope", envelope_schema(job))
    many = _model(ns, "JobListEnvelope", envelope_schema({"type": "array", "items": job}))
    return single, many


def body_models(ns: Namespace, kind: str) -> tuple[SchemaModel, SchemaModel]:
    """(create body, update body) models of `kind`, registered on `ns`."""
    return (_model(ns, f"{kind}CreateBody", swagger_schema(body_schema(kind, create=True))),
            _model(ns, f"{kind}UpdateBody", swagger_schema(body_schema(kind, create=False))))
