"""Projects: `/ttp/connect/projects` and `/ttp/connect/projects/<project_id>`."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from synarchive.tables import TABLES
from synergos_ttp.api.connect.common import (
    archive_errors,
    checked_body,
    document_errors,
    many,
    one,
    read_or_404,
    table,
    without_fields,
)
from synergos_ttp.api.models import body_models, record_models
from synergos_ttp.api.schemas import PROJECT_DEFAULTS
from synrest.envelope import Envelope

KIND = "Project"
IDS = TABLES[KIND].key_fields


def create_project() -> Envelope:
    """Create (upsert) a project from the request body; 201."""
    body = checked_body(KIND, create=True, path_ids={})
    details = {**PROJECT_DEFAULTS, **without_fields(body, IDS)}
    with archive_errors():
        record = table(KIND).create({"project_id": body["project_id"]}, details)
    return one(201, "projects.post", record)


def list_projects() -> Envelope:
    """Every project."""
    return many("projects.get", table(KIND).read_all())


def read_project(project_id: str) -> Envelope:
    """One project with its relations; 404 if unknown."""
    return one(200, "project.get", read_or_404(KIND, {"project_id": project_id},
                                               f"project {project_id!r}"))


def update_project(project_id: str) -> Envelope:
    """Partially update a project; the id cannot change."""
    body = checked_body(KIND, create=False, path_ids={"project_id": project_id})
    read_or_404(KIND, {"project_id": project_id}, f"project {project_id!r}")
    with archive_errors():
        record = table(KIND).update({"project_id": project_id}, without_fields(body, IDS))
    return one(200, "project.put", record)


def delete_project(project_id: str) -> Envelope:
    """Delete a project and everything under it; returns the record as it was."""
    with archive_errors():
        record = table(KIND).delete({"project_id": project_id})
    return one(200, "project.delete", record)


def build_projects_namespace() -> Namespace:
    """A fresh `projects` namespace (mount it at `/ttp/connect`)."""
    ns = Namespace("projects", description="Projects: the ML task (classify or regress)")
    single, listed = record_models(ns, KIND)
    create_body, update_body = body_models(ns, KIND)

    @ns.route("/projects", endpoint="projects")
    class Projects(Resource):
        @ns.response(200, "every project", listed)
        @document_errors(ns, 401)
        def get(self) -> Envelope:
            """List every project."""
            return list_projects()

        @ns.expect(create_body)
        @ns.response(201, "project created (or replaced)", single)
        @document_errors(ns, 400, 401, 422)
        def post(self) -> Envelope:
            """Create a project; an existing id is overwritten (upsert)."""
            return create_project()

    @ns.route("/projects/<string:project_id>", endpoint="project")
    class Project(Resource):
        @ns.response(200, "the project with its relations", single)
        @document_errors(ns, 401, 404)
        def get(self, project_id: str) -> Envelope:
            """Read one project."""
            return read_project(project_id)

        @ns.expect(update_body)
        @ns.response(200, "the updated project", single)
        @document_errors(ns, 400, 401, 404, 422)
        def put(self, project_id: str) -> Envelope:
            """Change some fields of a project."""
            return update_project(project_id)

        @ns.response(200, "the deleted project", single)
        @document_errors(ns, 401, 404)
        def delete(self, project_id: str) -> Envelope:
            """Delete a project with its experiments, runs, registrations and tags."""
            return delete_project(project_id)

    return ns
