"""Alignments: multiple feature alignment of a project's datasets (`/ttp/train/.../alignments`)."""

from __future__ import annotations

from typing import Any

from synergos.http import Envelope
from synergos.resources.base import TRAIN, Resource, path_segment


class Alignments(Resource):
    """Run and read multiple feature alignment (MFA) of a project (`driver.alignments`)."""

    @staticmethod
    def _collection(project_id: str) -> str:
        return f"{TRAIN}/projects/{path_segment('project_id', project_id)}/alignments"

    def create(
        self,
        project_id: str,
        *,
        wait: bool = True,
        timeout: float | None = None,
        progress: bool = True,
        **options: Any,
    ) -> Envelope:
        """Align the features of every participant in a project: `POST .../alignments`.

        Polls every registered Worker's datasets, computes the common column order, each
        participant's spacer indexes and the global scaling, and (with `auto_fix`) resizes the
        input/output layers of the project's experiments. Runs as a background job.

        Args:
            project_id: the project to align.
            wait: wait for the job and return the alignments (default True); False returns
                the job envelope at once (status 202, `data` = the job record).
            timeout: seconds to wait before raising `JobTimeoutError` (default None: forever).
            progress: show a tqdm progress bar while waiting (default True).
            **options: sent as given: `auto_align` (server default True), `auto_fix`
                (server default True).

        Returns:
            When waiting: the envelope of `GET .../alignments` (`data` = alignment records).

        Raises:
            JobFailedError: the job failed, was cancelled or was interrupted.
            JobTimeoutError: `timeout` passed first (the job keeps running).

        Example:
            driver.alignments.create(project_id="test_project")
        """
        path = self._collection(project_id)
        return self._start_job(path, path, dict(options), wait, timeout, progress)

    def read_all(self, project_id: str) -> Envelope:
        """Read the alignment records of a project: `GET /ttp/train/projects/<p>/alignments`.

        Raises `NotFoundError` when the project has not been aligned yet.

        Example:
            driver.alignments.read_all(project_id="test_project")["data"]
        """
        return self._transport.get(self._collection(project_id))
