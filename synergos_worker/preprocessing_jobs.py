"""Background preprocessing ("poll") jobs: one job per project at a time, latest request wins.

`submit` starts `preprocess_project` on a thread (or notes the request when the same request
is already running, or queues it behind a running job with other tags); `outcome` tells the
state of the latest request. The datasets library caches prepared arrays and invalidates
them when data files change, so re-submitting a finished request is cheap when nothing changed.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergos_worker.datasets import DatasetError, preprocess_project
from synergos_worker.project_store import ProjectStore

logger = logging.getLogger("synergos.worker.preprocessing")
DEFAULT_PARALLEL_JOBS = 2
DEFAULT_GRACE_SECONDS = 0.25


class NeverPolled(LookupError):
    """The project has not been polled since this Worker started."""


@dataclass(frozen=True)
class PollOutcome:
    """`status` running | ready (with `answer`) | failed (with `error`)."""

    status: str
    answer: dict[str, Any] | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class PollRequest:
    """What to preprocess: the project's action and its validated tags per meta."""

    action: str
    tags: dict[str, list[list[str]]]


@dataclass
class _ProjectPoll:
    latest: PollRequest
    current: PollRequest | None = None
    pending: PollRequest | None = None
    finished: PollRequest | None = None
    answer: dict[str, Any] | None = None
    error: BaseException | None = None

    @property
    def busy(self) -> bool:
        return self.current is not None


class PreprocessingJobs:
    """Runs and tracks the poll jobs of every project of this Worker (thread-safe)."""

    def __init__(self, data_dir: Path | str, outputs_dir: Path | str, store: ProjectStore,
                 parallel_jobs: int = DEFAULT_PARALLEL_JOBS,
                 grace_seconds: float = DEFAULT_GRACE_SECONDS) -> None:
        self.data_dir = Path(data_dir)
        self.outputs_dir = Path(outputs_dir)
        self.store = store
        self.grace_seconds = grace_seconds
        self._slots = threading.BoundedSemaphore(max(1, parallel_jobs))
        self._changed = threading.Condition()
        self._polls: dict[str, _ProjectPoll] = {}

    def submit(self, project_id: str, request: PollRequest) -> str:
        """Start (or join) preprocessing for `request`; returns `"ready"` when its result is
        already available after a short grace period (cache hit), else `"running"`."""
        with self._changed:
            poll = self._polls.get(project_id)
            if poll is None:
                poll = self._polls[project_id] = _ProjectPoll(latest=request)
            poll.latest = request
            if poll.current == request:
                poll.pending = None  # the running job already answers this request
            elif poll.busy:
                poll.pending = request
            else:
                poll.current = request
                threading.Thread(target=self._work, args=(project_id, poll), daemon=True,
                                 name=f"poll-{project_id}").start()
            self._changed.wait_for(lambda: not poll.busy, timeout=self.grace_seconds)
            ready = (not poll.busy and poll.finished == request and poll.error is None)
            return "ready" if ready else "running"

    def outcome(self, project_id: str) -> PollOutcome:
        """The state of the project's latest request; raises NeverPolled."""
        with self._changed:
            poll = self._polls.get(project_id)
            if poll is None:
                raise NeverPolled(project_id)
            if poll.busy or poll.finished != poll.latest:
                return PollOutcome("running")
            if poll.error is not None:
                return PollOutcome("failed", error=poll.error)
            return PollOutcome("ready", answer=poll.answer)

    def wait(self, project_id: str, timeout: float) -> bool:
        """Block until the project has no job running (True) or `timeout` passes (False)."""
        with self._changed:
            poll = self._polls.get(project_id)
            return poll is None or self._changed.wait_for(lambda: not poll.busy, timeout)

    def _work(self, project_id: str, poll: _ProjectPoll) -> None:
        request = poll.current
        while request is not None:
            answer, error = self._preprocess(project_id, request)
            with self._changed:
                poll.finished, poll.answer, poll.error = request, answer, error
                request, poll.pending = poll.pending, None
                poll.current = request
                self._changed.notify_all()

    def _preprocess(self, project_id: str, request: PollRequest
                    ) -> tuple[dict[str, Any] | None, BaseException | None]:
        started = time.perf_counter()
        fields = {"project_id": project_id, "action": request.action,
                  "metas": sorted(request.tags)}
        try:
            with self._slots:
                answer = preprocess_project(self.data_dir, self.outputs_dir, project_id,
                                            request.tags, request.action)
                self.store.save_poll(project_id, request.action, request.tags, answer)
        except DatasetError as error:
            logger.warning("preprocessing failed: %s", error,
                           extra={**fields, "status": error.status})
            return None, error
        except Exception as error:  # reported on GET as a 500 envelope
            logger.exception("preprocessing failed unexpectedly", extra=fields)
            return None, error
        logger.info("preprocessing finished", extra={
            **fields, "duration_s": round(time.perf_counter() - started, 3),
            "rows": {meta: summary["metadata"]["n_rows"] for meta, summary in answer.items()}})
        return answer, None
