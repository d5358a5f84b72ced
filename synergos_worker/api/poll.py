"""`/worker/poll/<project_id>`: start preprocessing (POST) and read its result (GET)."""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource

from synergos_worker.api.models import document_errors
from synergos_worker.datasets import DatasetError
from synergos_worker.datasets.project import check_tags
from synergos_worker.datasets.targets import check_action
from synergos_worker.identifiers import check_identifier
from synergos_worker.preprocessing_jobs import NeverPolled, PollRequest
from synergos_worker.services import current_services
from synrest.envelope import Envelope, success
from synrest.errors import ApiError, BadRequest, NotFound
from synrest.payload import json_object


def start_poll(project_id: str) -> Envelope:
    """Validate the body and start (or join) the project's preprocessing job."""
    project_id = check_identifier("project_id", project_id)
    body = json_object(allow_empty=False)
    try:
        request = PollRequest(action=check_action(body.get("action")),
                              tags=check_tags(body.get("tags")))
    except DatasetError as error:
        raise BadRequest(error.message) from None
    status = current_services().jobs.submit(project_id, request)
    return success(200 if status == "ready" else 202, "poll.post", {"status": status})


def read_poll(project_id: str) -> Envelope:
    """The preprocessing answer (200), 406 while running, or the job's error envelope."""
    project_id = check_identifier("project_id", project_id)
    try:
        outcome = current_services().jobs.outcome(project_id)
    except NeverPolled:
        raise NotFound(f"project {project_id!r} has not been polled on this Worker") from None
    if outcome.status == "running":
        raise ApiError(406, f"project {project_id!r} is still being preprocessed; "
                            "try again shortly")
    if outcome.status == "failed":
        error = outcome.error
        if isinstance(error, DatasetError):
            raise ApiError(error.status, f"preprocessing failed: {error.message}")
        raise ApiError(500, "preprocessing failed unexpectedly; see the Worker's log")
    return success(200, "poll.get", outcome.answer)


def register_poll_routes(ns: Namespace, models: dict[str, Any]) -> None:
    """Add the poll resource to the Worker namespace."""

    @ns.route("/poll/<string:project_id>", endpoint="poll")
    class Poll(Resource):
        @ns.expect(models["poll_body"], validate=False)
        @ns.response(202, "preprocessing started (or already running)", models["poll_status"])
        @ns.response(200, "the cached result is current", models["poll_status"])
        @document_errors(ns, models["error"], 400, 401)
        def post(self, project_id: str) -> Envelope:
            """Start preprocessing the project's tags in the background."""
            return start_poll(project_id)

        @ns.response(200, "headers, schema, metadata and summaries per meta",
                     models["poll_answer"])
        @document_errors(ns, models["error"], 400, 401, 404, 406, 409, 422)
        def get(self, project_id: str) -> Envelope:
            """Read the preprocessing result: aggregates only, never rows."""
            return read_poll(project_id)
