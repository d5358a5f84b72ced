"""Train API (`/ttp/train`): alignments and models of a project.

`POST /projects/<p>/alignments` (`{auto_align, auto_fix}`, both default true) and
`POST /projects/<p>/models[/<e>[/<r>]]` answer 202 with a job (see `/ttp/jobs`); a training job
trains every selected experiment x run combination in sequence. GET returns the stored
Alignment / Model records (404 when there are none). `/models/<e>/optimizations` belongs to the
hyperparameter-optimisation API.
"""

from __future__ import annotations

from flask_restx import Namespace, Resource

from synergos_ttp.api.connect.common import document_errors
from synergos_ttp.api.engine_common import (
    JOB_BODY_SCHEMA,
    RECORD_LIST,
    Envelope,
    accepted,
    check_selection,
    engine,
    engine_errors,
    ensure_idle,
    job_options,
    present_filters,
    project_or_404,
    records_or_404,
)
from synergos_ttp.api.models import job_models
from synergos_ttp.api.services import current_services
from synergos_ttp.engine.alignment import stored_alignments
from synergos_ttp.engine.combinations import select_runs
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.grid import build_grid

TRAIN_PREFIX = "/ttp/train"


def start_alignment(project_id: str) -> Envelope:
    """Queue multiple feature alignment of a project (202 + job)."""
    options = job_options({"auto_fix": bool})
    project_or_404(project_id)
    try:
        build_grid(current_services().archive, project_id, engine().env.settings.grid)
    except EngineError as error:
        raise engine_errors(error) from None
    ensure_idle(project_id)
    job = engine().submit_alignment(project_id, auto_align=options.get("auto_align", True),
                                    auto_fix=options.get("auto_fix", True))
    return accepted("alignments.post", job)


def list_alignments(project_id: str) -> Envelope:
    """The Alignment records of a project; 404 when it was never aligned."""
    project_or_404(project_id)
    return records_or_404("Alignment", {"project_id": project_id},
                           f"alignments of project {project_id!r} (run MFA first)")


def start_training(project_id: str, expt_id: str | None = None,
                   run_id: str | None = None) -> Envelope:
    """Queue one job training every selected combination (202 + job)."""
    job_options()
    check_selection(project_id, expt_id, run_id)
    archive = current_services().archive
    try:
        combinations = select_runs(archive, project_id, expt_id, run_id)
        grid = build_grid(archive, project_id, engine().env.settings.grid)
    except EngineError as error:
        raise engine_errors(error) from None
    aligned = stored_alignments(archive, project_id)
    missing = [node.participant_id for node in grid if node.participant_id not in aligned]
    if missing:
        raise engine_errors(EngineError(
            f"project {project_id!r} is not aligned for {', '.join(missing)}: "
            f"POST {TRAIN_PREFIX}/projects/{project_id}/alignments first"))
    ensure_idle(project_id)
    return accepted("models.post", engine().submit_training(combinations))


def list_models(project_id: str, expt_id: str | None = None,
                run_id: str | None = None) -> Envelope:
    """Model records of the project / experiment / run; 404 when none was trained."""
    check_selection(project_id, expt_id, run_id)
    filters = present_filters(project_id=project_id, expt_id=expt_id, run_id=run_id)
    return records_or_404("Model", filters, f"models under {'/'.join(filters.values())!r}")



def build_train_namespace() -> Namespace:
    """A fresh `train` namespace (mount it at `/ttp/train`)."""
    ns = Namespace("train", description="Alignment (MFA) and federated training jobs")
    job_envelope, _ = job_models(ns)
    records = ns.schema_model("TrainRecordList", RECORD_LIST)
    alignment_body = ns.schema_model("AlignmentBody", {
        **JOB_BODY_SCHEMA, "properties": {
            **JOB_BODY_SCHEMA["properties"],
            "auto_fix": {"type": "boolean",
                         "description": "resize the experiments' input/output layers "
                                        "(default true)"}}})
    training_body = ns.schema_model("TrainingBody", JOB_BODY_SCHEMA)

    @ns.route("/projects/<string:project_id>/alignments", endpoint="alignments")
    class Alignments(Resource):
        """A project's alignment (MFA)."""

        @ns.response(200, "the project's Alignment records", records)
        @document_errors(ns, 401, 404)
        def get(self, project_id: str) -> Envelope:
            """Read the alignment of every participant of a project."""
            return list_alignments(project_id)

        @ns.expect(alignment_body)
        @ns.response(202, "alignment job queued", job_envelope)
        @document_errors(ns, 400, 401, 404, 409, 422)
        def post(self, project_id: str) -> Envelope:
            """Align the participants' features (MFA) in a background job."""
            return start_alignment(project_id)

    @ns.route("/projects/<string:project_id>/models",
              "/projects/<string:project_id>/models/<string:expt_id>",
              "/projects/<string:project_id>/models/<string:expt_id>/<string:run_id>",
              endpoint="models")
    class Models(Resource):
        """Trained models of a project, an experiment or one run."""

        @ns.response(200, "Model records with loss histories and round reports", records)
        @document_errors(ns, 401, 404)
        def get(self, project_id: str, expt_id: str | None = None,
                run_id: str | None = None) -> Envelope:
            """Read the trained models of a project, an experiment or one run."""
            return list_models(project_id, expt_id, run_id)

        @ns.expect(training_body)
        @ns.response(202, "training job queued (all selected combinations, in order)",
                     job_envelope)
        @document_errors(ns, 400, 401, 404, 409, 422)
        def post(self, project_id: str, expt_id: str | None = None,
                 run_id: str | None = None) -> Envelope:
            """Train every selected experiment x run combination across the grid."""
            return start_training(project_id, expt_id, run_id)

    return ns
