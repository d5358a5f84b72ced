"""Validations: evaluating trained models on participants' data (`.../validations`)."""

from __future__ import annotations

from typing import Any

from synergos.frames import ValidationResults
from synergos.http import Envelope
from synergos.resources.base import EVALUATE, Resource, optional_segments, path_segment


class Validations(Resource):
    """Run and read validations of trained models (`driver.validations`)."""

    @staticmethod
    def _path(
        project_id: str,
        expt_id: str | None = None,
        run_id: str | None = None,
        participant_id: str | None = None,
    ) -> str:
        project = path_segment("project_id", project_id)
        tail = optional_segments(
            [("expt_id", expt_id), ("run_id", run_id), ("participant_id", participant_id)]
        )
        return f"{EVALUATE}/projects/{project}/validations{tail}"

    def create(
        self,
        project_id: str,
        expt_id: str | None = None,
        run_id: str | None = None,
        participant_id: str | None = None,
        *,
        wait: bool = True,
        timeout: float | None = None,
        progress: bool = True,
        **options: Any,
    ) -> Envelope:
        """Validate trained models: `POST .../projects/<p>/validations[/<e>[/<r>[/<pid>]]]`.

        Runs each selected model on every participant's `evaluate` data (or only on
        `participant_id`'s); each Worker computes the statistics from its own labels.
        Participants without `evaluate` tags are skipped. Runs as a background job.

        Args:
            project_id: the project.
            expt_id: only this experiment (default None: all).
            run_id: only this run of `expt_id` (default None: all).
            participant_id: only this participant (needs `expt_id` and `run_id`).
            wait: wait for the job and return the statistics (default True); False returns
                the job envelope at once (status 202, `data` = the job record).
            timeout: seconds to wait before raising `JobTimeoutError` (default None: forever).
            progress: show a tqdm progress bar while waiting (default True).
            **options: sent as given, e.g. `auto_align` (server default True).

        Returns:
            When waiting: the envelope of `GET` on the same route (`data` = validation records,
            `{"evaluate": {"statistics": {...}}, "key": {...}, ...}` per participant).

        Raises:
            JobFailedError: the job failed, was cancelled or was interrupted.
            JobTimeoutError: `timeout` passed first (the job keeps running).

        Example:
            driver.validations.create(project_id="test_project", expt_id="test_experiment",
                                      run_id="test_run")
        """
        path = self._path(project_id, expt_id, run_id, participant_id)
        return ValidationResults(self._start_job(path, path, dict(options), wait, timeout,
                                 progress))

    def read_all(
        self, project_id: str, expt_id: str | None = None, run_id: str | None = None
    ) -> Envelope:
        """List validation records of a project, one experiment, or one combination.

        Routes: `GET /ttp/evaluate/projects/<p>/validations[/<e>[/<r>]]`.

        Example:
            driver.validations.read_all("test_project", "test_experiment", "test_run")
        """
        return ValidationResults(self._transport.get(self._path(project_id, expt_id, run_id)))

    def read(self, project_id: str, expt_id: str, run_id: str, participant_id: str) -> Envelope:
        """Read one participant's validation of one combination.

        Route: `GET /ttp/evaluate/projects/<p>/validations/<e>/<r>/<pid>`.

        Example:
            stats = driver.validations.read("test_project", "test_experiment", "test_run",
                                            "test_participant_1")["data"]
        """
        path_segment("expt_id", expt_id)
        path_segment("run_id", run_id)
        path = self._path(project_id, expt_id, run_id, participant_id)
        return ValidationResults(self._transport.get(path))
