"""Shared OpenAPI models of the TTP routes: request bodies, record envelopes, error envelope.

Responses are built by hand (`synrest.envelope.success`) and documented with these JSON-schema
models, which describe exactly what the handlers return (records keep every stored field).
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace
from flask_restx.model import SchemaModel

from synalgo.run_fields import PLATFORM_DEFAULTS
from synarchive.schemas import load_schema
from synarchive.tables import TABLES, link_fields
from synergos_ttp.api.schemas import (
    PARTICIPANT_DEFAULTS,
    PROJECT_DEFAULTS,
    TAG_DEFAULTS,
    body_schema,
)
from synergos_ttp.api.swagger import inline_refs, swagger_schema
from synergos_ttp.jobs.records import JOB_STATUSES

_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": "string", "x-nullable": True}
_INTEGER = {"type": "integer"}
_BOOLEAN = {"type": "boolean"}
_OBJECT = {"type": "object"}

# Fields the connect API fills in when it creates a record, so every stored record has them.
_FILLED_ON_CREATE: dict[str, tuple[str, ...]] = {
    "Project": tuple(PROJECT_DEFAULTS),
    "Run": tuple(PLATFORM_DEFAULTS),
    "Participant": tuple(PARTICIPANT_DEFAULTS),
    "Registration": ("nodes",),  # the participant's own node by default
    "Tag": tuple(TAG_DEFAULTS),
    "Optimization": ("status", "trials"),  # the optimisation service writes them first
}


def details_schema(kind: str) -> tuple[dict[str, Any], list[str]]:
    """(detail properties, required detail names) of a stored `kind` record: the archive's
    schema of the table, with the fields the API fills in required."""
    schema = inline_refs(load_schema(TABLES[kind].schema))
    required = list(schema.get("required", []))
    required += [name for name in _FILLED_ON_CREATE.get(kind, ()) if name not in required]
    return schema["properties"], required


def record_schema(kind: str, relations: bool = True) -> dict[str, Any]:
    """JSON schema of one archive record of `kind` as the routes return it (`relations`:
    read with its related records)."""
    properties, required = details_schema(kind)
    spec = TABLES[kind]
    key_fields = spec.key_fields
    properties.update({
        "key": {"type": "object", "properties": {name: _STRING for name in key_fields},
                "required": list(key_fields)},
        "kind": {"type": "string", "enum": [kind]},
        "created_at": _STRING,
        "updated_at": _STRING,
    })
    required = [*required, "key", "kind", "created_at", "updated_at"]
    if relations:
        properties["relations"] = {
            "type": "object", "description": "child table -> related records",
            "additionalProperties": {"type": "array", "items": _OBJECT}}
        required.append("relations")
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
