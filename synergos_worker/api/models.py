"""OpenAPI models of the Worker's command routes: request bodies and response envelopes."""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace
from flask_restx.model import SchemaModel

from syncommon.metas import METAS

ACTIONS = ("classify", "regress")
_COLUMNS = {"type": "array", "items": {"type": "string"}}
_INDEXES = {"type": "array", "items": {"type": "integer", "minimum": 0}}
_NUMBERS = {"type": "array", "items": {"type": "number"}}
TAG_LIST = {
    "type": "array",
    "description": "tags of one meta; a tag is a list of plain-name tokens naming a dataset folder",
    "items": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
}
POLL_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["action", "tags"],
    "properties": {
        "action": {"type": "string", "enum": list(ACTIONS)},
        "tags": {"type": "object", "properties": {meta: TAG_LIST for meta in METAS}},
    },
}
ALIGN_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["superset"],
    "properties": {
        "superset": {"type": "object", "required": ["X", "y"],
                     "properties": {"X": _COLUMNS, "y": _COLUMNS},
                     "description": "aligned column order (sorted union over participants)"},
        "spacers": {"type": "object", "description": "{meta: {X: [indexes], y: [indexes]}}: "
                    "superset positions this Worker lacks",
                    "additionalProperties": {"type": "object",
                                             "properties": {"X": _INDEXES, "y": _INDEXES}}},
        "scaling": {"type": "object", "x-nullable": True,
                    "description": "global z-score parameters: (x - shift) / scale",
                    "properties": {"columns": _COLUMNS, "shift": _NUMBERS, "scale": _NUMBERS}},
    },
}
INITIALISE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["participant_id", "action", "model"],
    "properties": {
        "participant_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "action": {"type": "string", "enum": list(ACTIONS)},
        "model": {"type": "array", "items": {"type": "object"},
                  "description": "layers {is_input, l_type, structure, activation}"},
        "run": {"type": "object", "description": "run configuration (rounds, epochs, lr, ...)"},
    },
}


def envelope_schema(data: dict[str, Any]) -> dict[str, Any]:
    """The success envelope around `data`."""
    return {
        "type": "object",
        "required": ["apiVersion", "success", "status", "method", "params", "data"],
        "properties": {"apiVersion": {"type": "string"}, "success": {"type": "integer"},
                       "status": {"type": "integer"}, "method": {"type": "string"},
                       "params": {"type": "object"}, "data": data},
    }


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["success", "status", "message"],
    "properties": {"apiVersion": {"type": "string"}, "success": {"type": "integer"},
                   "status": {"type": "integer"}, "message": {"type": "string"},
                   "errors": {"type": "object"}},
}


def worker_models(ns: Namespace) -> dict[str, SchemaModel]:
    """Register and return the Worker's models on `ns`, by name."""
    return {
        "poll_body": ns.schema_model("PollBody", POLL_BODY),
        "align_body": ns.schema_model("AlignBody", ALIGN_BODY),
        "initialise_body": ns.schema_model("InitialiseBody", INITIALISE_BODY),
        "poll_status": ns.schema_model("PollStatus", envelope_schema(
            {"type": "object", "properties": {"status": {"type": "string"}}})),
        "poll_answer": ns.schema_model("PollAnswer", envelope_schema(
            {"type": "object", "description": "per meta: headers, schema, metadata, summary, "
             "categorical, image_shape"})),
        "run_answer": ns.schema_model("RunAnswer", envelope_schema({"type": "object"})),
        "error": ns.schema_model("ErrorEnvelope", ERROR_SCHEMA),
    }


def document_errors(ns: Namespace, error_model: SchemaModel, *statuses: int) -> Any:
    """Decorator documenting error envelopes for the given statuses."""
    descriptions = {400: "malformed body or identifier", 401: "missing or invalid token",
                    404: "unknown project or run", 406: "preprocessing still running",
                    409: "state conflict (e.g. not aligned yet)", 422: "invalid fields"}

    def decorate(function: Any) -> Any:
        for status in statuses:
            function = ns.response(status, descriptions[status], error_model)(function)
        return function

    return decorate
