"""Projects: the top-level grouping of a federated task (`/ttp/connect/projects`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import CONNECT, Resource, given, path_segment


class Projects(Resource):
    """Create, list, read, update and delete projects (`driver.projects`)."""

    @staticmethod
    def _item(project_id: str) -> str:
        return f"{CONNECT}/projects/{path_segment('project_id', project_id)}"

    def create(
        self,
        project_id: str,
        action: str | None = None,
        incentives: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Envelope:
        """Create (or overwrite) a project: `POST /ttp/connect/projects`.

        Args:
            project_id: id of the new project.
            action: the machine-learning task, `"classify"` or `"regress"` (required by the
                server).
            incentives: free-form contribution tiers, e.g. `{"tier_1": [], "tier_2": []}`
                (server default: `{}`).
            **fields: any other project field, sent as given (e.g. `start_at`).

        Returns:
            The response envelope; `data` is the project record (`key`, `created_at`,
            `relations`, ...).

        Example:
            driver.projects.create(project_id="test_project", action="classify",
                                   incentives={"tier_1": [], "tier_2": []})
        """
        path_segment("project_id", project_id)
        body = {"project_id": project_id, **given(action=action, incentives=incentives), **fields}
        return self._transport.post(f"{CONNECT}/projects", body)

    def read_all(self) -> Envelope:
        """List every project: `GET /ttp/connect/projects`.

        Returns:
            The response envelope; `data` is a list of project records.

        Example:
            ids = [p["key"]["project_id"] for p in driver.projects.read_all()["data"]]
        """
        return self._transport.get(f"{CONNECT}/projects")

    def read(self, project_id: str) -> Envelope:
        """Read one project with its relations: `GET /ttp/connect/projects/<project_id>`.

        Raises `NotFoundError` when it does not exist.

        Example:
            project = driver.projects.read(project_id="test_project")["data"]
        """
        return self._transport.get(self._item(project_id))

    def update(self, project_id: str, **changes: Any) -> Envelope:
        """Change some fields of a project (the id cannot change): `PUT .../projects/<id>`.

        Args:
            project_id: the project to change.
            **changes: the fields to set, e.g. `action="regress"`.

        Returns:
            The response envelope; `data` is the updated record.

        Example:
            driver.projects.update(project_id="test_project", incentives={"tier_1": ["p1"]})
        """
        return self._transport.put(self._item(project_id), self._changes(changes))

    def delete(self, project_id: str) -> Envelope:
        """Delete a project and everything under it: `DELETE .../projects/<project_id>`.

        Returns:
            The response envelope; `data` is the record as it was before deletion.

        Example:
            driver.projects.delete(project_id="test_project")
        """
        return self._transport.delete(self._item(project_id))
