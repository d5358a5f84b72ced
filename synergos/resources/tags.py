"""Tags: which datasets of a participant serve train/evaluate/predict (`.../tags`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import Resource, given
from synergos.resources.registrations import registration_path

TagList = list[list[str]]


class Tags(Resource):
    """Create, read, update and delete a registration's data tags (`driver.tags`)."""

    @staticmethod
    def _item(project_id: str, participant_id: str) -> str:
        return f"{registration_path(project_id, participant_id)}/tags"

    def create(
        self,
        project_id: str,
        participant_id: str,
        train: TagList,
        evaluate: TagList | None = None,
        predict: TagList | None = None,
        **fields: Any,
    ) -> Envelope:
        """Declare a participant's datasets for a project: `POST .../registration/tags`.

        A tag is a list of path tokens naming a dataset folder on the participant's Worker,
        e.g. `["non_iid_1"]` or `["tabular", "heart", "part_1"]`.

        Args:
            project_id: the project.
            participant_id: the registered participant.
            train: tags of the training data (required), e.g. `[["non_iid_1"]]`.
            evaluate: tags of the validation data (server default: none; the participant is
                then skipped by validations).
            predict: tags of the data to run inference on (server default: none).
            **fields: any other tag field, sent as given.

        Returns:
            The response envelope; `data` is the tag record.

        Example:
            driver.tags.create(project_id="test_project", participant_id="test_participant_1",
                               train=[["non_iid_1"], ["edge_test_misalign"]],
                               evaluate=[["iid_1"]])
        """
        body = {"project_id": project_id, "participant_id": participant_id, "train": train,
                **given(evaluate=evaluate, predict=predict), **fields}
        return self._transport.post(self._item(project_id, participant_id), body)

    def read(self, project_id: str, participant_id: str) -> Envelope:
        """Read a participant's tags in a project: `GET .../registration/tags`.

        Example:
            driver.tags.read("test_project", "test_participant_1")["data"]["train"]
        """
        return self._transport.get(self._item(project_id, participant_id))

    def update(self, project_id: str, participant_id: str, **changes: Any) -> Envelope:
        """Change some of the tags (e.g. `evaluate=[["iid_2"]]`): `PUT .../registration/tags`.

        Example:
            driver.tags.update("test_project", "test_participant_2", evaluate=[["iid_2"]])
        """
        return self._transport.put(self._item(project_id, participant_id), self._changes(changes))

    def delete(self, project_id: str, participant_id: str) -> Envelope:
        """Remove a participant's tags in a project: `DELETE .../registration/tags`.

        Returns:
            The response envelope; `data` is the record as it was before deletion.

        Example:
            driver.tags.delete("test_project", "test_participant_1")
        """
        return self._transport.delete(self._item(project_id, participant_id))
