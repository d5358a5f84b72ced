"""Models: federated training of experiment x run combinations (`/ttp/train/.../models`)."""

from __future__ import annotations

from typing import Any

from synergos.frames import ModelResults
from synergos.http import Envelope
from synergos.resources.base import TRAIN, CombinationJobs, path_segment


class Models(CombinationJobs):
    """Train and read the models of a project (`driver.models`)."""

    area = TRAIN
    collection = "models"

    def create(
        self,
        project_id: str,
        expt_id: str | None = None,
        run_id: str | None = None,
        *,
        wait: bool = True,
        timeout: float | None = None,
        progress: bool = True,
        **options: Any,
    ) -> Envelope:
        """Train across the grid: `POST /ttp/train/projects/<p>/models[/<e>[/<r>]]`.

        Trains every run of every experiment of the project, every run of one experiment
        (`expt_id`), or one combination (`expt_id` and `run_id`). Runs as a background job
        whose progress is the federated round.

        Args:
            project_id: the project.
            expt_id: only this experiment (default None: all experiments).
            run_id: only this run of `expt_id` (default None: all runs).
            wait: wait for the job and return the trained models (default True); False
                returns the job envelope at once (status 202, `data` = the job record).
            timeout: seconds to wait before raising `JobTimeoutError` (default None: forever).
            progress: show a tqdm bar of the rounds while waiting (default True).
            **options: sent as given, e.g. `auto_align` (server default True).

        Returns:
            When waiting: the envelope of `GET` on the same route (`data` = model records with
            their loss histories).

        Raises:
            JobFailedError: the job failed, was cancelled or was interrupted.
            JobTimeoutError: `timeout` passed first (the job keeps running).

        Example:
            model_resp = driver.models.create(project_id="test_project",
                                              expt_id="test_experiment", run_id="test_run")
        """
        return ModelResults(
            self._start(project_id, expt_id, run_id, options, wait, timeout, progress))

    def read_all(self, project_id: str, expt_id: str | None = None) -> Envelope:
        """List the trained models of a project, or of one experiment.

        Routes: `GET /ttp/train/projects/<p>/models` or `.../models/<e>`.

        Example:
            driver.models.read_all(project_id="test_project")
        """
        return ModelResults(self._get(project_id, expt_id))

    def read(self, project_id: str, expt_id: str, run_id: str) -> Envelope:
        """Read the model of one combination: `GET /ttp/train/projects/<p>/models/<e>/<r>`.

        Example:
            driver.models.read("test_project", "test_experiment", "test_run")["data"]
        """
        path_segment("expt_id", expt_id)
        return ModelResults(self._get(project_id, expt_id, run_id))
