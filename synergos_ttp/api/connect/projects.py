"""Projects: `/ttp/connect/projects` and `/ttp/connect/projects/<project_id>`."""

from __future__ import annotations

from flask_restx import Namespace

from synarchive.tables import TABLES
from synergos_ttp.api.connect.common import (
    checked_body,
    create_record,
    delete_record,
    list_records,
    read_or_404,
    read_record,
    update_record,
    without_fields,
)
from synergos_ttp.api.connect.routes import Operation, RecordRoutes
from synergos_ttp.api.schemas import PROJECT_DEFAULTS
from synrest.envelope import Envelope

KIND = "Project"
IDS = TABLES[KIND].key_fields


def create_project() -> Envelope:
    """Create (upsert) a project from the request body; 201."""
    body = checked_body(KIND, create=True, path_ids={})
    details = {**PROJECT_DEFAULTS, **without_fields(body, IDS)}
    return create_record(KIND, {"project_id": body["project_id"]}, details, "projects.post")


def list_projects() -> Envelope:
    """Every project."""
    return list_records(KIND, {}, "projects.get")


def read_project(project_id: str) -> Envelope:
    """One project with its relations; 404 if unknown."""
    return read_record(KIND, {"project_id": project_id}, f"project {project_id!r}", "project.get")


def update_project(project_id: str) -> Envelope:
    """Partially update a project; the id cannot change."""
    body = checked_body(KIND, create=False, path_ids={"project_id": project_id})
    read_or_404(KIND, {"project_id": project_id}, f"project {project_id!r}")
    return update_record(KIND, {"project_id": project_id}, without_fields(body, IDS), "project.put")


def delete_project(project_id: str) -> Envelope:
    """Delete a project and everything under it; returns the record as it was."""
    return delete_record(KIND, {"project_id": project_id}, "project.delete")


def build_projects_namespace() -> Namespace:
    """A fresh `projects` namespace (mount it at `/ttp/connect`)."""
    ns = Namespace("projects", description="Projects: the ML task (classify or regress)")
    routes = RecordRoutes(ns, KIND)
    routes.add(
        "Projects", "projects", ("/projects",), listing=True,
        get=Operation(list_projects, "List every project.", "every project"),
        post=Operation(create_project, "Create a project; an existing id is overwritten "
                       "(upsert).", "project created (or replaced)"),
    )
    routes.add(
        "Project", "project", ("/projects/<string:project_id>",),
        get=Operation(read_project, "Read one project.", "the project with its relations"),
        put=Operation(update_project, "Change some fields of a project.",
                      "the updated project"),
        delete=Operation(delete_project, "Delete a project with its experiments, runs, "
                         "registrations and tags.", "the deleted project"),
    )
    return ns
