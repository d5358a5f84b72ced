"""What the train and evaluate namespaces share: the engine, job bodies, 202 answers."""

from __future__ import annotations

from typing import Any

from synergos_ttp.api.connect.common import raise_if_invalid, read_or_404, table
from synergos_ttp.api.records import public_records
from synergos_ttp.api.services import current_services
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.service import FederatedEngine
from synrest.envelope import Envelope, success
from synrest.errors import ApiError, Conflict, NotFound
from synrest.payload import json_object

# Accepted so requests from Synergos 1 Drivers validate; they change nothing here.
IGNORED_OPTIONS = ("dockerised", "verbose", "log_msgs")
JOB_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "auto_align": {"type": "boolean", "description": "use the stored alignment (default "
                                                         "true)"},
        **{name: {"type": "boolean", "description": "accepted, ignored"}
           for name in IGNORED_OPTIONS},
    },
}
# the OpenAPI schema of a 200 answer listing records
RECORD_LIST = {"type": "object", "properties": {"data": {"type": "array",
                                                         "items": {"type": "object"}}}}


def engine() -> FederatedEngine:
    """The federated engine of the serving TTP (503 when the node runs none)."""
    found = current_services().engine
    if found is None:
        raise ApiError(503, "this node runs no federated engine")
    return found


def job_options(extra: dict[str, type] | None = None) -> dict[str, Any]:
    """The request's JSON body checked against the boolean job options (+ `extra` fields,
    name -> expected type); unknown fields and wrong types give 422 naming the field."""
    body = json_object(allow_empty=True)
    allowed: dict[str, type] = {"auto_align": bool, **dict.fromkeys(IGNORED_OPTIONS, bool),
                                **(extra or {})}
    errors = {}
    for name, value in body.items():
        expected = allowed.get(name)
        if expected is None:
            errors[name] = "is not an allowed field"
        elif not isinstance(value, expected) or (expected is not bool
                                                 and isinstance(value, bool)):
            errors[name] = f"must be a {'boolean' if expected is bool else expected.__name__}"
    raise_if_invalid(errors)
    return body


def project_or_404(project_id: str) -> dict[str, Any]:
    """The project record or a 404 envelope."""
    return read_or_404("Project", {"project_id": project_id}, f"project {project_id!r}")


def check_selection(project_id: str, expt_id: str | None, run_id: str | None) -> None:
    """404 naming the first of the project, experiment and run (those given) that is unknown."""
    project_or_404(project_id)
    if expt_id is not None:
        read_or_404("Experiment", {"project_id": project_id, "expt_id": expt_id},
                    f"experiment {expt_id!r} of project {project_id!r}")
    if run_id is not None:
        read_or_404("Run", {"project_id": project_id, "expt_id": expt_id, "run_id": run_id},
                    f"run {run_id!r} of experiment {expt_id!r}")


def present_filters(**values: str | None) -> dict[str, str]:
    """The record filters among `values` that are given (not None)."""
    return {name: value for name, value in values.items() if value is not None}


def ensure_idle(project_id: str) -> None:
    """409 when another alignment/training/evaluation job of the project is still active."""
    active = engine().active_job(project_id)
    if active is not None:
        raise Conflict(f"job {active['job_id']} ({active['kind']}) of project {project_id!r} "
                       f"is still {active['status']}; wait for it or cancel it first")


def accepted(method: str, job: dict[str, Any]) -> Envelope:
    """The 202 envelope carrying a freshly queued job."""
    return success(202, method, job)


def records_or_404(table_name: str, filters: dict[str, str], what: str) -> Envelope:
    """200 envelope with the matching records (newest state), or 404 naming `what`."""
    records = table(table_name).read_all(filters)
    if not records:
        raise NotFound(f"{what} do(es) not exist")
    return success(200, f"{table_name.lower()}s.get", public_records(records))


def engine_errors(error: EngineError) -> ApiError:
    """A precondition found missing before the job starts, as a 409 envelope."""
    return Conflict(str(error))
