"""Evaluate API (`/ttp/evaluate`): validations of trained models and participants' predictions.

`POST /projects/<p>/validations[/<e>[/<r>[/<pid>]]]` validates every selected trained model on
each participant's evaluate data (participants without evaluate tags are skipped).
`POST /participants/<pid>/predictions[/<p>[/<e>[/<r>]]]` with `{"tags": {<project_id>:
[[tokens]...]}}` replaces the participant's predict tags of those projects and runs inference
with every selected trained model. Both answer 202 with a job; a prediction whose data would
change another participant's alignment fails with a 'feature drift' error on the job (the
HTTP POST itself succeeded). GET returns the stored Validation / Prediction records.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource

from synergos_ttp.api.connect.common import document_errors, read_or_404
from synergos_ttp.api.contributions import add_contribution_routes
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
from synergos_ttp.api.validation import schema_errors, tag_errors
from synergos_ttp.engine.combinations import Combination, select_runs
from synergos_ttp.engine.errors import EngineError
from synrest.errors import NotFound, ValidationFailed

EVALUATE_PREFIX = "/ttp/evaluate"


def trained(project_id: str, expt_id: str | None, run_id: str | None) -> list[Combination]:
    """The selected combinations that have a Model record; 409 when none is trained."""
    archive = current_services().archive
    try:
        combinations = select_runs(archive, project_id, expt_id, run_id)
    except EngineError as error:
        raise NotFound(str(error)) from None
    models = {Combination(**record["key"]) for record in archive.table("Model").read_all(
        {"project_id": project_id}, include_relations=False)}
    chosen = [combination for combination in combinations if combination in models]
    if not chosen:
        where = "/".join(part for part in (project_id, expt_id, run_id) if part)
        raise engine_errors(EngineError(
            f"no trained model under {where!r}: POST /ttp/train/projects/{project_id}/models "
            "first"))
    return chosen


def start_validation(project_id: str, expt_id: str | None = None, run_id: str | None = None,
                     participant_id: str | None = None) -> Envelope:
    """Queue the validation of the selected trained models (202 + job)."""
    job_options()
    check_selection(project_id, expt_id, run_id)
    if participant_id is not None:
        read_or_404("Registration", {"project_id": project_id, "participant_id": participant_id},
                    f"registration of participant {participant_id!r} in project "
                    f"{project_id!r}")
    combinations = trained(project_id, expt_id, run_id)
    ensure_idle(project_id)
    return accepted("validations.post",
                    engine().submit_validation(combinations, participant_id))


def list_validations(project_id: str, expt_id: str | None = None, run_id: str | None = None,
                     participant_id: str | None = None) -> Envelope:
    """Validation records under the path; 404 when there are none."""
    project_or_404(project_id)
    filters = present_filters(project_id=project_id, expt_id=expt_id, run_id=run_id,
                       participant_id=participant_id)
    return records_or_404("Validation", filters, "validations under "
                          f"{'/'.join(filters.values())!r}")


def start_prediction(participant_id: str, project_id: str | None = None,
                     expt_id: str | None = None, run_id: str | None = None) -> Envelope:
    """Queue inference on the participant's predict data (202 + job)."""
    options = job_options({"tags": dict, "strict_features": bool})
    read_or_404("Participant", {"participant_id": participant_id},
                f"participant {participant_id!r}")
    tags = _checked_tags(options.get("tags") or {})
    archive = current_services().archive
    registrations = archive.table("Registration").read_all(
        {"participant_id": participant_id}, include_relations=False)
    project_ids = sorted(record["key"]["project_id"] for record in registrations)
    if project_id is not None:
        check_selection(project_id, expt_id, run_id)
        if project_id not in project_ids:
            raise NotFound(f"participant {participant_id!r} is not registered in project "
                           f"{project_id!r}")
        project_ids = [project_id]
    unknown = sorted(set(tags) - set(project_ids))
    if unknown:
        raise ValidationFailed({f"tags.{name}": "the participant is not registered in this "
                                "project (or it is outside the path)" for name in unknown})
    if not project_ids:
        raise NotFound(f"participant {participant_id!r} is not registered in any project")
    if project_id is None:  # every project of the participant that has a trained model
        project_ids = [pid for pid in project_ids
                       if pid in tags or _has_models(pid)] or project_ids
    projects = [(pid, trained(pid, expt_id, run_id), tags.get(pid)) for pid in project_ids]
    for pid in project_ids:
        ensure_idle(pid)
    return accepted("predictions.post", engine().submit_prediction(
        participant_id, projects, bool(options.get("strict_features", False))))


def list_predictions(participant_id: str, project_id: str | None = None,
                     expt_id: str | None = None, run_id: str | None = None) -> Envelope:
    """Prediction records of the participant under the path; 404 when there are none."""
    read_or_404("Participant", {"participant_id": participant_id},
                f"participant {participant_id!r}")
    filters = present_filters(participant_id=participant_id, project_id=project_id, expt_id=expt_id,
                       run_id=run_id)
    return records_or_404("Prediction", filters, "predictions under "
                          f"{'/'.join(filters.values())!r}")


def _has_models(project_id: str) -> bool:
    return bool(current_services().archive.table("Model").read_all(
        {"project_id": project_id}, include_relations=False))


def _checked_tags(tags: dict[str, Any]) -> dict[str, list[list[str]]]:
    errors: dict[str, str] = {}
    for project_id, value in tags.items():
        body = {"predict": value}
        problems = schema_errors("Tag", body, create=False)
        if not problems:
            problems = tag_errors(body)
        for field, message in problems.items():
            errors[f"tags.{project_id}{field[len('predict'):]}"] = message
    if errors:
        raise ValidationFailed(errors)
    return tags



def build_evaluate_namespace() -> Namespace:
    """A fresh `evaluate` namespace (mount it at `/ttp/evaluate`)."""
    ns = Namespace("evaluate", description="Validation and prediction jobs")
    job_envelope, _ = job_models(ns)
    records = ns.schema_model("EvaluateRecordList", RECORD_LIST)
    validation_body = ns.schema_model("ValidationBody", JOB_BODY_SCHEMA)
    prediction_body = ns.schema_model("PredictionBody", {
        **JOB_BODY_SCHEMA, "properties": {
            **JOB_BODY_SCHEMA["properties"],
            "tags": {"type": "object", "description": "{project_id: [[tokens], ...]} replacing "
                                                      "the participant's predict tags"},
            "strict_features": {"type": "boolean", "default": False,
                                "description": "refuse predict data lacking training columns "
                                               "(default: impute them and warn)"}}})

    @ns.route("/projects/<string:project_id>/validations",
              "/projects/<string:project_id>/validations/<string:expt_id>",
              "/projects/<string:project_id>/validations/<string:expt_id>/<string:run_id>",
              "/projects/<string:project_id>/validations/<string:expt_id>/<string:run_id>/"
              "<string:participant_id>", endpoint="validations")
    class Validations(Resource):
        """Validation statistics of trained models."""

        @ns.response(200, "Validation records (statistics per participant)", records)
        @document_errors(ns, 401, 404)
        def get(self, project_id: str, expt_id: str | None = None, run_id: str | None = None,
                participant_id: str | None = None) -> Envelope:
            """Read validation statistics."""
            return list_validations(project_id, expt_id, run_id, participant_id)

        @ns.expect(validation_body)
        @ns.response(202, "validation job queued", job_envelope)
        @document_errors(ns, 400, 401, 404, 409, 422)
        def post(self, project_id: str, expt_id: str | None = None, run_id: str | None = None,
                 participant_id: str | None = None) -> Envelope:
            """Validate trained models on the participants' evaluate data."""
            return start_validation(project_id, expt_id, run_id, participant_id)

    @ns.route("/participants/<string:participant_id>/predictions",
              "/participants/<string:participant_id>/predictions/<string:project_id>",
              "/participants/<string:participant_id>/predictions/<string:project_id>/"
              "<string:expt_id>",
              "/participants/<string:participant_id>/predictions/<string:project_id>/"
              "<string:expt_id>/<string:run_id>", endpoint="predictions")
    class Predictions(Resource):
        """A participant's predictions."""

        @ns.response(200, "Prediction records of the participant", records)
        @document_errors(ns, 401, 404)
        def get(self, participant_id: str, project_id: str | None = None,
                expt_id: str | None = None, run_id: str | None = None) -> Envelope:
            """Read a participant's predictions."""
            return list_predictions(participant_id, project_id, expt_id, run_id)

        @ns.expect(prediction_body)
        @ns.response(202, "prediction job queued", job_envelope)
        @document_errors(ns, 400, 401, 404, 409, 422)
        def post(self, participant_id: str, project_id: str | None = None,
                 expt_id: str | None = None, run_id: str | None = None) -> Envelope:
            """Run inference on the participant's predict data (optionally new tags)."""
            return start_prediction(participant_id, project_id, expt_id, run_id)

    add_contribution_routes(ns, records, job_envelope)
    return ns
