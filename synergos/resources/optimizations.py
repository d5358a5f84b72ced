"""Optimizations: hyperparameter search over an experiment (`.../models/<e>/optimizations`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import TRAIN, Resource, path_segment


class Optimizations(Resource):
    """Start and read hyperparameter optimisations (`driver.optimizations`)."""

    @staticmethod
    def _collection(project_id: str, expt_id: str) -> str:
        project = path_segment("project_id", project_id)
        expt = path_segment("expt_id", expt_id)
        return f"{TRAIN}/projects/{project}/models/{expt}/optimizations"

    def create(
        self,
        project_id: str,
        expt_id: str,
        search_space: dict[str, Any],
        *,
        wait: bool = True,
        timeout: float | None = None,
        progress: bool = True,
        **options: Any,
    ) -> Envelope:
        """Search hyperparameters of an experiment: `POST .../models/<e>/optimizations`.

        Each trial becomes a run (`optim_run_...`) that is trained and validated; the
        validation metric is fed back to the search. Runs as a background job.

        Args:
            project_id: the project.
            expt_id: the experiment to tune.
            search_space: `{hyperparameter: {"_type": sampler, "_value": [...]}}`, e.g.
                `{"lr": {"_type": "loguniform", "_value": [1e-4, 1e-1]},
                "batch_size": {"_type": "choice", "_value": [16, 32]}}`.
            wait: wait for the job and return the results (default True); False returns
                the job envelope at once (status 202, `data` = the job record).
            timeout: seconds to wait before raising `JobTimeoutError` (default None: forever).
            progress: show a tqdm bar of the trials while waiting (default True).
            **options: sent as given: `metric` (what to optimise, e.g. `"accuracy"`),
                `optimize_mode` (`"max"` or `"min"`), `max_trial_num` (server default 10),
                `trial_concurrency` (1), `max_exec_duration` (seconds or `"1h"`),
                `searcher` (`"TPESampler"`), `seed` (42), `base_run_id` (the run the
                trials start from) and/or `base_run` (run fields), `optim_id`, ...

        Returns:
            When waiting: the envelope of `GET .../optimizations`: the experiment's
            optimisations, each with `trials` (`run_id`, `params`, `value`, `state`) and
            `best` (`run_id`, `params`, `value`).

        Raises:
            JobFailedError: the job failed, was cancelled or was interrupted.
            JobTimeoutError: `timeout` passed first (the job keeps running).

        Example:
            driver.optimizations.create(
                project_id="test_project", expt_id="test_experiment",
                search_space={"lr": {"_type": "loguniform", "_value": [0.0001, 0.1]}},
                metric="accuracy", optimize_mode="max", max_trial_num=5,
                base_run_id="test_run")
        """
        path = self._collection(project_id, expt_id)
        body = {"search_space": search_space, **options}
        return self._start_job(path, path, body, wait, timeout, progress)

    def read_all(self, project_id: str, expt_id: str) -> Envelope:
        """Read the optimisation results of an experiment: `GET .../models/<e>/optimizations`.

        Example:
            driver.optimizations.read_all("test_project", "test_experiment")["data"]
        """
        return self._transport.get(self._collection(project_id, expt_id))
