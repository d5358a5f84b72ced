"""Registrations: a participant's role in a project (`/participants/<pid>/projects/<p>/...`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import CONNECT, Resource, given, path_segment


def registration_path(project_id: str, participant_id: str) -> str:
    """Route of one registration: `/ttp/connect/participants/<pid>/projects/<p>/registration`."""
    participant = path_segment("participant_id", participant_id)
    project = path_segment("project_id", project_id)
    return f"{CONNECT}/participants/{participant}/projects/{project}/registration"


class Registrations(Resource):
    """Create, list, read, update and delete registrations (`driver.registrations`)."""

    def create(
        self,
        project_id: str,
        participant_id: str,
        role: str,
        nodes: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> Envelope:
        """Register a participant in a project: `POST .../projects/<p>/registration`.

        Args:
            project_id: the project to join.
            participant_id: the participant joining.
            role: `"guest"`, `"host"` or `"arbiter"` (recorded; every role trains).
            nodes: the participant's Worker in each sub-grid of a cluster (node I serves
                cluster TTP `--grid I`), each `{"host", "port", "f_port", "token", "secure",
                ...}` (`secure`: reach that Worker over verified HTTPS); given, they replace
                the default, which is the participant's own Worker only.
            **fields: any other registration field, sent as given.

        Returns:
            The response envelope; `data` is the registration record (with `link`).

        Example:
            driver.registrations.create(project_id="test_project",
                                        participant_id="test_participant_1", role="guest")
        """
        path = registration_path(project_id, participant_id)
        body = {"project_id": project_id, "participant_id": participant_id, "role": role,
                **given(nodes=nodes), **fields}
        return self._transport.post(path, body)

    def read_all(
        self, project_id: str | None = None, participant_id: str | None = None
    ) -> Envelope:
        """List the registrations of one project or of one participant (give exactly one id).

        Routes: `GET /ttp/connect/projects/<p>/registrations` or
        `GET /ttp/connect/participants/<pid>/registrations`.

        Returns:
            The response envelope; `data` is a list of registration records.

        Example:
            driver.registrations.read_all(project_id="test_project")
            driver.registrations.read_all(participant_id="test_participant_1")
        """
        if (project_id is None) == (participant_id is None):
            raise ValueError(
                "give exactly one of project_id or participant_id "
                "(use registrations.read(project_id, participant_id) for a single registration)"
            )
        if project_id is not None:
            project = path_segment("project_id", project_id)
            return self._transport.get(f"{CONNECT}/projects/{project}/registrations")
        participant = path_segment("participant_id", participant_id)
        return self._transport.get(f"{CONNECT}/participants/{participant}/registrations")

    def read(self, project_id: str, participant_id: str) -> Envelope:
        """Read one registration: `GET .../participants/<pid>/projects/<p>/registration`.

        Example:
            driver.registrations.read("test_project", "test_participant_1")["data"]["role"]
        """
        return self._transport.get(registration_path(project_id, participant_id))

    def update(self, project_id: str, participant_id: str, **changes: Any) -> Envelope:
        """Change a registration (e.g. `role`, `nodes`): `PUT .../registration`.

        Example:
            driver.registrations.update("test_project", "test_participant_1", role="host")
        """
        return self._transport.put(
            registration_path(project_id, participant_id), self._changes(changes)
        )

    def delete(self, project_id: str, participant_id: str) -> Envelope:
        """Withdraw a participant from a project (its tags go too): `DELETE .../registration`.

        Returns:
            The response envelope; `data` is the record as it was before deletion.

        Example:
            driver.registrations.delete("test_project", "test_participant_1")
        """
        return self._transport.delete(registration_path(project_id, participant_id))
