"""Experiments: a model architecture inside a project (`/projects/<p>/experiments`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import CONNECT, Resource, path_segment


class Experiments(Resource):
    """Create, list, read, update and delete experiments (`driver.experiments`)."""

    @staticmethod
    def _collection(project_id: str) -> str:
        return f"{CONNECT}/projects/{path_segment('project_id', project_id)}/experiments"

    def _item(self, project_id: str, expt_id: str) -> str:
        return f"{self._collection(project_id)}/{path_segment('expt_id', expt_id)}"

    def create(
        self, project_id: str, expt_id: str, model: list[dict[str, Any]], **fields: Any
    ) -> Envelope:
        """Create (or overwrite) an experiment: `POST /ttp/connect/projects/<p>/experiments`.

        Args:
            project_id: the project it belongs to.
            expt_id: id of the new experiment.
            model: the ordered layers of the model, each
                `{"is_input": bool, "l_type": "<torch.nn layer>", "structure": {kwargs},
                "activation": "<name>" or None}`; the first layer has `is_input=True`.
            **fields: any other experiment field, sent as given.

        Returns:
            The response envelope; `data` is the experiment record.

        Example:
            driver.experiments.create(
                project_id="test_project", expt_id="test_experiment",
                model=[{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
                        "structure": {"bias": True, "in_features": 15, "out_features": 1}}])
        """
        path_segment("expt_id", expt_id)
        body = {"project_id": project_id, "expt_id": expt_id, "model": model, **fields}
        return self._transport.post(self._collection(project_id), body)

    def read_all(self, project_id: str) -> Envelope:
        """List the experiments of a project: `GET /ttp/connect/projects/<p>/experiments`.

        Returns:
            The response envelope; `data` is a list of experiment records.

        Example:
            driver.experiments.read_all(project_id="test_project")
        """
        return self._transport.get(self._collection(project_id))

    def read(self, project_id: str, expt_id: str) -> Envelope:
        """Read one experiment: `GET /ttp/connect/projects/<p>/experiments/<e>`.

        Example:
            layers = driver.experiments.read("test_project", "test_experiment")["data"]["model"]
        """
        return self._transport.get(self._item(project_id, expt_id))

    def update(self, project_id: str, expt_id: str, **changes: Any) -> Envelope:
        """Change fields of an experiment (e.g. `model=[...]`): `PUT .../experiments/<e>`.

        Example:
            driver.experiments.update("test_project", "test_experiment", model=new_layers)
        """
        return self._transport.put(self._item(project_id, expt_id), self._changes(changes))

    def delete(self, project_id: str, expt_id: str) -> Envelope:
        """Delete an experiment and its runs/models/validations: `DELETE .../experiments/<e>`.

        Returns:
            The response envelope; `data` is the record as it was before deletion.

        Example:
            driver.experiments.delete(project_id="test_project", expt_id="test_experiment")
        """
        return self._transport.delete(self._item(project_id, expt_id))
