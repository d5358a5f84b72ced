"""Participants (Workers): `/ttp/connect/participants[/<participant_id>]`.

A participant's optional `token` (the bearer token of its Worker) is stored for the TTP's own
calls, registered with synlogger as a secret (masked if it ever reaches a log line), and
stripped from every response.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace

from synarchive.tables import TABLES
from synergos_ttp.api.connect.common import (
    checked_body,
    create_record,
    delete_record,
    list_records,
    raise_if_invalid,
    read_or_404,
    read_record,
    update_record,
    without_fields,
)
from synergos_ttp.api.connect.routes import Operation, RecordRoutes
from synergos_ttp.api.schemas import PARTICIPANT_DEFAULTS
from synergos_ttp.api.validation import host_error
from synlogger import register_secret
from synrest.envelope import Envelope

KIND = "Participant"
IDS = TABLES[KIND].key_fields


def _check_semantics(body: dict[str, Any]) -> None:
    if "host" in body:
        problem = host_error(body["host"])
        raise_if_invalid({"host": problem} if problem else {})
    if isinstance(body.get("token"), str):
        register_secret(body["token"])


def create_participant() -> Envelope:
    """Create (upsert) a participant; ports default to 8020 (data) and 5000 (command)."""
    body = checked_body(KIND, create=True, path_ids={})
    _check_semantics(body)
    details = {**PARTICIPANT_DEFAULTS, **without_fields(body, IDS)}
    return create_record(KIND, {"participant_id": body["participant_id"]}, details,
                         "participants.post")


def list_participants() -> Envelope:
    """Every participant."""
    return list_records(KIND, {}, "participants.get")


def read_participant(participant_id: str) -> Envelope:
    """One participant with its registrations and tags."""
    key = {"participant_id": participant_id}
    return read_record(KIND, key, f"participant {participant_id!r}", "participant.get")


def update_participant(participant_id: str) -> Envelope:
    """Change some fields of a participant (`token: null` removes the token)."""
    key = {"participant_id": participant_id}
    body = checked_body(KIND, create=False, path_ids=key)
    _check_semantics(body)
    read_or_404(KIND, key, f"participant {participant_id!r}")
    return update_record(KIND, key, without_fields(body, IDS), "participant.put")


def delete_participant(participant_id: str) -> Envelope:
    """Delete a participant with its registrations and tags."""
    return delete_record(KIND, {"participant_id": participant_id}, "participant.delete")


def build_participants_namespace() -> Namespace:
    """A fresh `participants` namespace (mount it at `/ttp/connect`)."""
    ns = Namespace("participants", description="Participants: Workers and how to reach them")
    routes = RecordRoutes(ns, KIND)
    routes.add(
        "Participants", "participants", ("/participants",), listing=True,
        get=Operation(list_participants, "List every participant.",
                      "every participant (tokens are never returned)"),
        post=Operation(create_participant, "Register a participant's Worker (host, data port, "
                       "command port, token).", "participant created (or replaced)"),
    )
    routes.add(
        "Participant", "participant", ("/participants/<string:participant_id>",),
        get=Operation(read_participant, "Read one participant.",
                      "the participant with its relations"),
        put=Operation(update_participant, "Change some fields of a participant.",
                      "the updated participant"),
        delete=Operation(delete_participant, "Delete a participant with its registrations and "
                         "tags.", "the deleted participant"),
    )
    return ns
