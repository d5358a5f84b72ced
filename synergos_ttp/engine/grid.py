"""The grid of a project: one Worker node per registered participant.

A basic TTP drives node 0 of every registration (`EngineSettings.grid` picks another node for
a cluster TTP). The Worker's bearer token is the node's own `token` when it has one, else the
participant's; the Worker is reached over HTTPS when the node or the participant says
`secure`. Tags come from the participant's Tag record of the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synarchive import Archive
from syncommon.metas import METAS
from synergos_ttp.engine.errors import EngineError


@dataclass(frozen=True)
class GridNode:
    """One participant's Worker as the engine reaches it."""

    participant_id: str
    host: str
    data_port: int
    command_port: int
    token: str | None = field(default=None, repr=False)
    tags: dict[str, list[list[str]]] = field(default_factory=dict)
    secure: bool = False


def build_grid(archive: Archive, project_id: str, grid_index: int = 0) -> list[GridNode]:
    """Every registered participant's node `grid_index`, sorted by participant id.

    Raises `EngineError` when the project has no registrations, a participant has no Tag
    record, or a registration lacks node `grid_index`.
    """
    registrations = archive.table("Registration").read_all(
        {"project_id": project_id}, include_relations=False)
    if not registrations:
        raise EngineError(f"project {project_id!r} has no registered participants")
    nodes = []
    for registration in sorted(registrations, key=lambda r: r["key"]["participant_id"]):
        participant_id = registration["key"]["participant_id"]
        key = {"project_id": project_id, "participant_id": participant_id}
        participant = archive.table("Participant").read(
            {"participant_id": participant_id}, include_relations=False) or {}
        tag = archive.table("Tag").read(key, include_relations=False)
        if tag is None:
            raise EngineError(f"participant {participant_id!r} declared no tags for project "
                              f"{project_id!r}")
        registered_nodes = registration.get("nodes") or [_node_of(participant)]
        if grid_index >= len(registered_nodes):
            raise EngineError(f"participant {participant_id!r} registered "
                              f"{len(registered_nodes)} node(s); grid {grid_index} needs more")
        node = registered_nodes[grid_index]
        nodes.append(GridNode(
            participant_id=participant_id, host=str(node["host"]),
            data_port=int(node.get("port", 8020)), command_port=int(node.get("f_port", 5000)),
            token=node.get("token") or participant.get("token") or None,
            tags={meta: list(tag.get(meta) or []) for meta in METAS},
            secure=bool(node.get("secure") or participant.get("secure")),
        ))
    return nodes


def _node_of(participant: dict[str, Any]) -> dict[str, Any]:
    if not participant.get("host"):
        raise EngineError("a registration has no nodes and its participant no host")
    return {name: participant[name] for name in ("host", "port", "f_port", "secure")
            if name in participant}
