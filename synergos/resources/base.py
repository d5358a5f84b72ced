"""The `Resource` base shared by every Driver resource: route building, bodies, job starts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from synergos.http import Envelope, Transport
from synergos.jobs import JobWaiter, is_job_record

CONNECT = "/ttp/connect"
TRAIN = "/ttp/train"
EVALUATE = "/ttp/evaluate"


def path_segment(name: str, value: Any) -> str:
    """Check that id `name` is a non-empty string and return it escaped for a URL path."""
    if not isinstance(value, str) or not value.strip():
        shown = f"{value!r} ({type(value).__name__})" if value is not None else "None"
        raise ValueError(f"{name} must be a non-empty string, got {shown}")
    return quote(value, safe="")


def optional_segments(ids: Sequence[tuple[str, str | None]]) -> str:
    """Build `/a/b` from optional trailing ids; a later id without the earlier one is an error.

    Example: `optional_segments([("expt_id", "e1"), ("run_id", None)])` -> `"/e1"`.
    """
    parts: list[str] = []
    missing: str | None = None
    for name, value in ids:
        if value is None:
            missing = missing or name
            continue
        if missing is not None:
            raise ValueError(f"{name} was given without {missing}; give {missing} too")
        parts.append(path_segment(name, value))
    return "".join(f"/{part}" for part in parts)


def combination_path(area: str, collection: str, project_id: str, expt_id: str | None = None,
                     run_id: str | None = None) -> str:
    """`<area>/projects/<p>/<collection>[/<e>[/<r>]]`, each id checked (`run_id` needs
    `expt_id`)."""
    project = path_segment("project_id", project_id)
    tail = optional_segments([("expt_id", expt_id), ("run_id", run_id)])
    return f"{area}/projects/{project}/{collection}{tail}"


class ServerDefault:
    """The value of an argument the caller left out, where None is itself a meaningful value
    (`lr_scheduler=None` asks for no scheduler; leaving it out takes the server's default)."""

    def __repr__(self) -> str:
        return "<server default>"


SERVER_DEFAULT = ServerDefault()


def given(**fields: Any) -> dict[str, Any]:
    """Return the fields whose value is not None (None means "let the server default it")."""
    return {name: value for name, value in fields.items() if value is not None}


class Resource:
    """Base of every resource class: holds the transport and the job waiter.

    Subclasses declare their routes and expose the verbs the routes support (`create`,
    `read_all`, `read`, `update`, `delete`); every verb returns the parsed response envelope
    `{"apiVersion", "success", "status", "method", "params", "data"}`.
    """

    def __init__(self, transport: Transport, waiter: JobWaiter) -> None:
        self._transport = transport
        self._waiter = waiter

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {self._transport.base_url}>"

    @staticmethod
    def _changes(changes: dict[str, Any]) -> dict[str, Any]:
        """Check that an update names at least one field and return the PUT body."""
        if not changes:
            raise ValueError("update needs at least one field to change, e.g. update(..., x=1)")
        return dict(changes)

    def _start_job(
        self,
        post_path: str,
        result_path: str,
        body: dict[str, Any],
        wait: bool,
        timeout: float | None,
        progress: bool,
    ) -> Envelope:
        """POST a job route; unless `wait` is False, wait for the job and GET `result_path`.

        A server that answers with a finished result instead of a job record (no `job_id`)
        gets that envelope returned as is.
        """
        envelope = self._transport.post(post_path, body)
        job = envelope.get("data")
        if not wait or job is None or not is_job_record(job):
            return envelope
        self._waiter.wait(job["job_id"], timeout=timeout, progress=progress)
        return self._transport.get(result_path)


class CombinationJobs(Resource):
    """Base of a resource whose jobs run over a project's experiment x run combinations at
    `<area>/projects/<p>/<collection>[/<e>[/<r>]]`; a subclass names the route and documents
    its public verbs."""

    area: ClassVar[str]
    collection: ClassVar[str]

    def _path(self, project_id: str, expt_id: str | None = None,
              run_id: str | None = None) -> str:
        return combination_path(self.area, self.collection, project_id, expt_id, run_id)

    def _start(self, project_id: str, expt_id: str | None, run_id: str | None,
               options: dict[str, Any], wait: bool, timeout: float | None,
               progress: bool) -> Envelope:
        """POST the job of the selected combinations; when waiting, GET the same route."""
        path = self._path(project_id, expt_id, run_id)
        return self._start_job(path, path, dict(options), wait, timeout, progress)

    def _get(self, project_id: str, expt_id: str | None = None,
             run_id: str | None = None) -> Envelope:
        """GET the records of the selected combinations."""
        return self._transport.get(self._path(project_id, expt_id, run_id))
