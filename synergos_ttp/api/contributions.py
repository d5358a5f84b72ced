"""Contribution routes (`/ttp/evaluate/projects/<p>/contributions[/<e>[/<r>]]`).

GET lists the Contribution records under the path (per-round Shapley values, totals, shares
and tiers of each run); 404 when there are none. Runs trained with `contribution: true` get
their record at the end of training; POST (202 + job) measures the selected trained runs
afterwards by replaying their training from its seed, with body fields `metric` and `method`
(the runs' `contribution_metric` / `contribution_method` by default). A run whose individual
updates the TTP cannot use (FedGKT) is refused with a 422.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource

from synalgo.contribution.utility import resolve_metric
from synalgo.run_fields import CONTRIBUTION_METHODS
from synergos_ttp.api.connect.common import document_errors, read_or_404
from synergos_ttp.api.engine_common import (
    JOB_BODY_SCHEMA,
    Envelope,
    accepted,
    engine,
    ensure_idle,
    job_options,
    project_or_404,
    records_or_404,
)
from synergos_ttp.api.services import current_services
from synrest.errors import ValidationFailed


def start_contribution(project_id: str, expt_id: str | None = None,
                       run_id: str | None = None) -> Envelope:
    """Queue the contributions of the selected trained runs (202 + job)."""
    from synergos_ttp.api.evaluate import trained  # the evaluate module mounts these routes

    body = job_options({"metric": str, "method": str})
    project = project_or_404(project_id)
    _check_path(project_id, expt_id)
    fields: dict[str, Any] = {}
    if "metric" in body:
        try:
            fields["contribution_metric"] = resolve_metric(body["metric"], project["action"])
        except ValueError as error:
            raise ValidationFailed({"metric": str(error)}) from None
    if "method" in body:
        if body["method"] not in CONTRIBUTION_METHODS:
            raise ValidationFailed({"method": f"must be one of {', '.join(CONTRIBUTION_METHODS)}"})
        fields["contribution_method"] = body["method"]
    combinations = trained(project_id, expt_id, run_id)
    archive = current_services().archive
    for combination in combinations:
        run = archive.table("Run").read(combination.key, include_relations=False)
        if run is not None and run.get("algorithm") == "FedGKT":
            raise ValidationFailed({"run_id": f"run {combination.route!r} uses FedGKT: its "
                                              "individual updates are not weights, so there "
                                              "are no coalition models"})
    ensure_idle(project_id)
    return accepted("contributions.post", engine().submit_contribution(combinations, fields))


def _check_path(project_id: str, expt_id: str | None) -> None:
    if expt_id is not None:
        read_or_404("Experiment", {"project_id": project_id, "expt_id": expt_id},
                    f"experiment {expt_id!r} of project {project_id!r}")


def list_contributions(project_id: str, expt_id: str | None = None,
                       run_id: str | None = None) -> Envelope:
    """Contribution records under the path; 404 when there are none."""
    project_or_404(project_id)
    _check_path(project_id, expt_id)
    filters = {name: value for name, value in (("project_id", project_id),
                                               ("expt_id", expt_id), ("run_id", run_id))
               if value is not None}
    return records_or_404("Contribution", filters,
                          f"contributions under {'/'.join(filters.values())!r}")


def add_contribution_routes(ns: Namespace, records: Any, job_envelope: Any) -> None:
    """Mount the contribution routes on the evaluate namespace."""
    body = ns.schema_model("ContributionBody", {
        **JOB_BODY_SCHEMA, "properties": {
            **JOB_BODY_SCHEMA["properties"],
            "metric": {"type": "string", "description": "utility metric (default: the "
                                                          "run's contribution_metric)"},
            "method": {"type": "string", "enum": list(CONTRIBUTION_METHODS)}}})

    @ns.route("/projects/<string:project_id>/contributions",
              "/projects/<string:project_id>/contributions/<string:expt_id>",
              "/projects/<string:project_id>/contributions/<string:expt_id>/<string:run_id>",
              endpoint="contributions")
    class Contributions(Resource):
        """Per-round Shapley contributions and incentive tiers of trained runs."""

        @ns.response(200, "Contribution records", records)
        @document_errors(ns, 401, 404)
        def get(self, project_id: str, expt_id: str | None = None,
                run_id: str | None = None) -> Envelope:
            """Read contributions."""
            return list_contributions(project_id, expt_id, run_id)

        @ns.expect(body)
        @ns.response(202, "contribution job queued", job_envelope)
        @document_errors(ns, 400, 401, 404, 409, 422)
        def post(self, project_id: str, expt_id: str | None = None,
                 run_id: str | None = None) -> Envelope:
            """Measure the contributions of trained runs (replays their training)."""
            return start_contribution(project_id, expt_id, run_id)
