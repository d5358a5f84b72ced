"""Contribution routes (`/ttp/evaluate/projects/<p>/contributions[/<e>[/<r>]]`).

GET lists the Contribution records under the path (per-round Shapley values, totals, shares
and tiers of each run); 404 when there are none. Runs trained with `contribution: true` get
their record at the end of training.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource

from synergos_ttp.api.connect.common import document_errors, read_or_404
from synergos_ttp.api.engine_common import Envelope, project_or_404, records_or_404


def list_contributions(project_id: str, expt_id: str | None = None,
                       run_id: str | None = None) -> Envelope:
    """Contribution records under the path; 404 when there are none."""
    project_or_404(project_id)
    if expt_id is not None:
        read_or_404("Experiment", {"project_id": project_id, "expt_id": expt_id},
                    f"experiment {expt_id!r} of project {project_id!r}")
    filters = {name: value for name, value in (("project_id", project_id),
                                               ("expt_id", expt_id), ("run_id", run_id))
               if value is not None}
    return records_or_404("Contribution", filters,
                          f"contributions under {'/'.join(filters.values())!r}")


def add_contribution_routes(ns: Namespace, records: Any) -> None:
    """Mount the contribution routes on the evaluate namespace."""

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
