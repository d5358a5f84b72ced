"""Registrations (a participant's role in a project), one per participant x project.

Routes: `/participants/<participant_id>/projects/<project_id>/registration` (GET, POST, PUT,
DELETE) and the lists `/participants/<participant_id>/registrations` and
`/projects/<project_id>/registrations`. `nodes` (Workers of the participant, one per sub-grid)
defaults to the participant's own host and ports; node tokens are write-only.
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
from synergos_ttp.api.schemas import NODE_DEFAULTS
from synergos_ttp.api.validation import node_errors
from synlogger import register_secret
from synrest.envelope import Envelope

KIND = "Registration"
IDS = TABLES[KIND].key_fields
NODE_FIELDS = ("host", "port", "f_port", "log_msgs", "verbose", "secure")


def _nodes_with_defaults(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    raise_if_invalid(node_errors(nodes))
    for node in nodes:
        if isinstance(node.get("token"), str):
            register_secret(node["token"])
    return [{**NODE_DEFAULTS, **node} for node in nodes]


def _participant(participant_id: str) -> dict[str, Any]:
    return read_or_404("Participant", {"participant_id": participant_id},
                       f"participant {participant_id!r}")


def _project(project_id: str) -> dict[str, Any]:
    return read_or_404("Project", {"project_id": project_id}, f"project {project_id!r}")


def _label(key: dict[str, str]) -> str:
    return (f"registration of participant {key['participant_id']!r} "
            f"in project {key['project_id']!r}")


def create_registration(participant_id: str, project_id: str) -> Envelope:
    """Register an existing participant in an existing project (upsert)."""
    key = {"project_id": project_id, "participant_id": participant_id}
    body = checked_body(KIND, create=True, path_ids=key)
    details = without_fields(body, IDS)
    if "nodes" in details:
        details["nodes"] = _nodes_with_defaults(details["nodes"])
    _project(project_id)
    participant = _participant(participant_id)
    if "nodes" not in details:
        details["nodes"] = [{name: participant[name] for name in NODE_FIELDS
                             if name in participant}]
    return create_record(KIND, key, details, "registration.post")


def list_registrations(participant_id: str | None = None,
                       project_id: str | None = None) -> Envelope:
    """The registrations of one participant, or of one project; 404 if that is unknown."""
    if participant_id is not None:
        _participant(participant_id)
        filters = {"participant_id": participant_id}
    else:
        _project(str(project_id))
        filters = {"project_id": str(project_id)}
    return list_records(KIND, filters, "registrations.get")


def read_registration(participant_id: str, project_id: str) -> Envelope:
    """One registration with its tags."""
    key = {"project_id": project_id, "participant_id": participant_id}
    return read_record(KIND, key, _label(key), "registration.get")


def update_registration(participant_id: str, project_id: str) -> Envelope:
    """Change the role and/or replace the nodes of a registration."""
    key = {"project_id": project_id, "participant_id": participant_id}
    body = checked_body(KIND, create=False, path_ids=key)
    changes = without_fields(body, IDS)
    if "nodes" in changes:
        changes["nodes"] = _nodes_with_defaults(changes["nodes"])
    read_or_404(KIND, key, _label(key))
    return update_record(KIND, key, changes, "registration.put")


def delete_registration(participant_id: str, project_id: str) -> Envelope:
    """Withdraw a participant from a project; its tags go too."""
    return delete_record(KIND, {"project_id": project_id, "participant_id": participant_id},
                         "registration.delete")


def build_registrations_namespace() -> Namespace:
    """A fresh `registrations` namespace (mount it at `/ttp/connect`)."""
    ns = Namespace("registrations", description="Registrations: participants in projects")
    routes = RecordRoutes(ns, KIND)
    routes.add(
        "Registrations", "registrations", ("/participants/<string:participant_id>/registrations",
                                           "/projects/<string:project_id>/registrations"),
        listing=True,
        get=Operation(list_registrations,
                      "List the registrations of a participant or of a project.",
                      "the registrations of the participant or project"),
    )
    routes.add(
        "Registration", "registration",
        ("/participants/<string:participant_id>/projects/<string:project_id>/registration",),
        get=Operation(read_registration, "Read one registration.",
                      "the registration with its tags"),
        post=Operation(create_registration, "Register a participant in a project with a role "
                       "(host, guest, arbiter).", "registration created (or replaced)"),
        put=Operation(update_registration, "Change the role or the nodes of a registration.",
                      "the updated registration"),
        delete=Operation(delete_registration, "Delete a registration and its tags.",
                         "the deleted registration"),
    )
    return ns
