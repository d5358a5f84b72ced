"""`/worker/align/<project_id>`: store the TTP's alignment after checking it against this
Worker's headers (422 when the superset lacks a column or the spacers disagree)."""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource

from synergos_worker.alignment import validate_alignment
from synergos_worker.api.models import document_errors
from synergos_worker.identifiers import check_identifier
from synergos_worker.preprocessing_jobs import NeverPolled
from synergos_worker.services import current_services
from synrest.envelope import Envelope, success
from synrest.errors import Conflict, NotFound, ValidationFailed
from synrest.payload import json_object


def store_alignment(project_id: str) -> Envelope:
    """Validate and store the alignment; answers the spacers computed for each meta."""
    project_id = check_identifier("project_id", project_id)
    body = json_object(allow_empty=False)
    services = current_services()
    try:
        if services.jobs.outcome(project_id).status == "running":
            raise Conflict(f"project {project_id!r} is still being preprocessed; align it "
                           "once the poll has finished")
    except NeverPolled:
        pass  # polled by an earlier process of this Worker: its poll.json still counts
    poll = services.store.load_poll(project_id)
    if poll is None:
        raise NotFound(f"project {project_id!r} has not been polled on this Worker")
    own = {meta: entry["headers"] for meta, entry in poll["metas"].items()}
    alignment, errors = validate_alignment(body, own)
    if errors:
        raise ValidationFailed(errors)
    services.store.save_alignment(project_id, alignment)
    counts = {axis: len(columns) for axis, columns in alignment["superset"].items()}
    return success(200, "align.post", {"n_columns": counts, "spacers": alignment["spacers"]})


def register_align_routes(ns: Namespace, models: dict[str, Any]) -> None:
    """Add the align resource to the Worker namespace."""

    @ns.route("/align/<string:project_id>", endpoint="align")
    class Align(Resource):
        @ns.expect(models["align_body"], validate=False)
        @ns.response(200, "alignment stored; the spacers per meta", models["run_answer"])
        @document_errors(ns, models["error"], 400, 401, 404, 409, 422)
        def post(self, project_id: str) -> Envelope:
            """Store spacer indexes and global scaling parameters sent by the TTP."""
            return store_alignment(project_id)
