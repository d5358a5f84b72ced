"""Public views of archive records: secrets (Worker tokens) are removed at every depth.

A participant's `token` and the `token` of every registration node are write-only; this is
the single place that strips them, for records and for the records in their `relations`.
"""

from __future__ import annotations

import copy
from typing import Any

ANNOTATIONS = ("key", "kind", "created_at", "updated_at", "relations", "link")
SECRET_FIELD = "token"


def public_record(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of `record` without secrets, its related records cleaned the same way."""
    view = copy.deepcopy(record)
    _strip_secrets(view)
    return view


def public_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`public_record` applied to each record."""
    return [public_record(record) for record in records]


def details_of(record: dict[str, Any]) -> dict[str, Any]:
    """The record's own fields, without the archive's annotations (key, relations, ...)."""
    return {name: value for name, value in record.items() if name not in ANNOTATIONS}


def _strip_secrets(record: dict[str, Any]) -> None:
    kind = record.get("kind")
    if kind == "Participant":
        record.pop(SECRET_FIELD, None)
    if kind == "Registration":
        for node in record.get("nodes") or []:
            if isinstance(node, dict):
                node.pop(SECRET_FIELD, None)
    relations = record.get("relations")
    if isinstance(relations, dict):
        for related in relations.values():
            for child in related if isinstance(related, list) else []:
                if isinstance(child, dict):
                    _strip_secrets(child)
