"""Predictions: inference on a participant's `predict` data (`/ttp/evaluate/.../predictions`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import EVALUATE, Resource, given, optional_segments, path_segment


class Predictions(Resource):
    """Request and read a participant's predictions (`driver.predictions`)."""

    @staticmethod
    def _path(
        participant_id: str,
        project_id: str | None = None,
        expt_id: str | None = None,
        run_id: str | None = None,
    ) -> str:
        participant = path_segment("participant_id", participant_id)
        tail = optional_segments(
            [("project_id", project_id), ("expt_id", expt_id), ("run_id", run_id)]
        )
        return f"{EVALUATE}/participants/{participant}/predictions{tail}"

    def create(
        self,
        participant_id: str,
        tags: dict[str, list[list[str]]] | None = None,
        project_id: str | None = None,
        expt_id: str | None = None,
        run_id: str | None = None,
        *,
        wait: bool = True,
        timeout: float | None = None,
        progress: bool = True,
        **options: Any,
    ) -> Envelope:
        """Run inference on a participant's data: `POST .../participants/<pid>/predictions[...]`.

        Uses every model of every project the participant is registered in, or only those of
        `project_id` / `expt_id` / `run_id`. Runs as a background job.

        Args:
            participant_id: the participant whose `predict` data is used.
            tags: `{project_id: [[tokens], ...]}` replacing the participant's `predict` tags
                for those projects before inference (default None: keep the stored tags).
            project_id: only this project (default None: all the participant's projects).
            expt_id: only this experiment of `project_id` (default None: all).
            run_id: only this run of `expt_id` (default None: all).
            wait: wait for the job and return the predictions (default True); False returns
                the job envelope at once (status 202, `data` = the job record).
            timeout: seconds to wait before raising `JobTimeoutError` (default None: forever).
            progress: show a tqdm progress bar while waiting (default True).
            **options: sent as given, e.g. `auto_align` (server default True) or
                `strict_features=True` (refuse predict data lacking training columns; by
                default they are imputed and listed in the record's `warnings`).

        Returns:
            When waiting: the envelope of `GET` on the same route (`data` = prediction records,
            `{"predict": {"n_rows", "n_labeled", "warnings", "statistics"}, "key": {...}}`);
            the predictions themselves stay on the Worker (`synergos.read_predictions`).

        Raises:
            JobFailedError: the job failed (e.g. feature drift), was cancelled or interrupted.
            JobTimeoutError: `timeout` passed first (the job keeps running).

        Example:
            driver.predictions.create(participant_id="test_participant_1",
                                      tags={"test_project": [["iid_1"]]},
                                      project_id="test_project", expt_id="test_experiment",
                                      run_id="test_run")
        """
        path = self._path(participant_id, project_id, expt_id, run_id)
        body = {**given(tags=tags), **options}
        return self._start_job(path, path, body, wait, timeout, progress)

    def read_all(
        self, participant_id: str, project_id: str | None = None, expt_id: str | None = None
    ) -> Envelope:
        """List a participant's predictions, optionally for one project or experiment.

        Routes: `GET /ttp/evaluate/participants/<pid>/predictions[/<p>[/<e>]]`.

        Example:
            driver.predictions.read_all(participant_id="test_participant_1")
        """
        return self._transport.get(self._path(participant_id, project_id, expt_id))

    def read(self, participant_id: str, project_id: str, expt_id: str, run_id: str) -> Envelope:
        """Read a participant's predictions of one combination.

        Route: `GET /ttp/evaluate/participants/<pid>/predictions/<p>/<e>/<r>`.

        Example:
            driver.predictions.read("test_participant_1", "test_project", "test_experiment",
                                    "test_run")["data"]
        """
        path_segment("project_id", project_id)
        path_segment("expt_id", expt_id)
        return self._transport.get(self._path(participant_id, project_id, expt_id, run_id))
