"""Optimisation API: `/ttp/train/projects/<p>/models/<e>/optimizations`.

`POST` checks the body (`synergos_ttp.optimization.request`: 422 naming the field), the path
(404), the alignment and that no other engine/optimisation job of the project is active (409),
then answers 202 with ONE job of kind `optimization` that runs every trial. `GET` returns the
experiment's Optimization records (trials, best, status), 404 when there is none.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource

from synalgo.run_config import normalise_run
from synergos_ttp.api.connect.common import document_errors, raise_if_invalid, read_or_404, table
from synergos_ttp.api.engine_common import (
    Envelope,
    accepted,
    engine,
    engine_errors,
    project_or_404,
)
from synergos_ttp.api.models import envelope_schema, job_models, record_schema
from synergos_ttp.api.records import public_records
from synergos_ttp.api.services import current_services
from synergos_ttp.api.swagger import swagger_schema
from synergos_ttp.engine.alignment import stored_alignments
from synergos_ttp.engine.combinations import details
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.grid import build_grid
from synergos_ttp.jobs import JobNotFound
from synergos_ttp.optimization import OptimizationService, parse_request
from synergos_ttp.optimization.search_space import SAMPLER_TYPES
from synergos_ttp.optimization.service import TABLE
from synrest.envelope import success
from synrest.errors import Conflict, NotFound
from synrest.payload import json_object

ROUTE = "/projects/<string:project_id>/models/<string:expt_id>/optimizations"
BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["search_space"],
    "properties": {
        "search_space": {
            "type": "object",
            "description": "hyperparameter (a run field) -> {_type, _value}; _type one of "
                           + ", ".join(SAMPLER_TYPES),
            "additionalProperties": {
                "type": "object", "required": ["_type", "_value"],
                "properties": {"_type": {"type": "string", "enum": list(SAMPLER_TYPES)},
                               "_value": {"type": "array"}}}},
        "metric": {"type": "string", "description": "statistic to optimise (default accuracy "
                                                    "/ R2), averaged over participants"},
        "optimize_mode": {"type": "string", "enum": ["max", "min"]},
        "max_trial_num": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
        "trial_concurrency": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1},
        "max_exec_duration": {"description": 'time budget: seconds or "1h", "30m" (default '
                                             '"1h"); null: none'},
        "searcher": {"type": "string", "default": "TPESampler"},
        "seed": {"type": "integer", "minimum": 0, "default": 42},
        "optim_id": {"type": "string", "description": "default optim_<k>"},
        "base_run_id": {"type": "string", "description": "run whose fields the trials start "
                                                         "from"},
        "base_run": {"type": "object", "description": "run fields the trials start from"},
        **{name: {"type": "boolean", "description": "accepted, ignored"}
           for name in ("auto_align", "dockerised", "verbose", "log_msgs", "is_remote",
                        "use_annotation")},
        **{name: {"type": "string", "description": "accepted, ignored"}
           for name in ("backend", "scheduler")},
    },
}
# An Optimization record as listed (read without relations).
RECORD_SCHEMA: dict[str, Any] = swagger_schema(record_schema(TABLE, relations=False))


def optimization_service() -> OptimizationService:
    """The serving TTP's optimisation service (made from its engine on first use)."""
    services = current_services()
    if services.optimizations is None:
        services.optimizations = OptimizationService(engine())
    return services.optimizations


def start_optimization(project_id: str, expt_id: str) -> Envelope:
    """Check the request and queue the optimisation job (202 + job)."""
    body = json_object(allow_empty=True)
    project = project_or_404(project_id)
    read_or_404("Experiment", {"project_id": project_id, "expt_id": expt_id},
                f"experiment {expt_id!r} of project {project_id!r}")

    def base_fields(run_id: str) -> dict[str, Any] | None:
        record = table("Run").read({"project_id": project_id, "expt_id": expt_id,
                                    "run_id": run_id})
        return None if record is None else details(record)

    request, errors = parse_request(body, project["action"], base_fields,
                                    lambda fields: normalise_run(fields)[1])
    raise_if_invalid(errors)
    assert request is not None  # else `errors` named the problems
    service = optimization_service()
    archive = current_services().archive
    try:
        grid = build_grid(archive, project_id, service.env.settings.grid)
    except EngineError as error:
        raise engine_errors(error) from None
    aligned = stored_alignments(archive, project_id)
    missing = [node.participant_id for node in grid if node.participant_id not in aligned]
    if missing:
        raise Conflict(f"project {project_id!r} is not aligned for {', '.join(missing)}: "
                       f"POST /ttp/train/projects/{project_id}/alignments first")
    active = service.active_job(project_id)
    if active is not None:
        raise Conflict(f"job {active['job_id']} ({active['kind']}) of project {project_id!r} "
                       f"is still {active['status']}; wait for it or cancel it first")
    return accepted("optimizations.post", service.submit(project_id, expt_id, request))


def list_optimizations(project_id: str, expt_id: str) -> Envelope:
    """The experiment's Optimization records (trials and best); 404 when there is none."""
    project_or_404(project_id)
    read_or_404("Experiment", {"project_id": project_id, "expt_id": expt_id},
                f"experiment {expt_id!r} of project {project_id!r}")
    records = table(TABLE).read_all({"project_id": project_id, "expt_id": expt_id},
                                    include_relations=False)
    if not records:
        raise NotFound(f"no optimisation of experiment {expt_id!r} of project "
                       f"{project_id!r} exists")
    return success(200, "optimizations.get", [_settled(record)
                                              for record in public_records(records)])


def _settled(record: dict[str, Any]) -> dict[str, Any]:
    """A record left `running` by a job that ended without updating it (the TTP restarted),
    or `cancelled` by a job the shutdown interrupted, takes the job's final status."""
    runner = current_services().job_runner
    if record.get("status") not in ("running", "cancelled") or runner is None or not (
            record.get("job_id")):
        return record
    try:
        job = runner.get(record["job_id"])
    except JobNotFound:
        return {**record, "status": "interrupted"}
    if job["status"] in ("queued", "running"):
        return record
    return {**record, "status": job["status"], "error": record.get("error") or job["error"]}


def build_optimizations_namespace() -> Namespace:
    """A fresh `optimizations` namespace (mount it at `/ttp/train`)."""
    ns = Namespace("optimizations", description="Hyperparameter optimisation of an experiment "
                                                "(Optuna; each trial is a run optim_run_<n>)")
    job_envelope, _ = job_models(ns)
    body = ns.schema_model("OptimizationBody", BODY_SCHEMA)
    listed = ns.schema_model("OptimizationListEnvelope", envelope_schema(
        {"type": "array", "items": RECORD_SCHEMA}))

    @ns.route(ROUTE, endpoint="optimizations")
    class Optimizations(Resource):
        """Hyperparameter optimisations of one experiment."""

        @ns.response(200, "Optimization records: trials (run_id, params, value, state) and "
                          "the best", listed)
        @document_errors(ns, 401, 404)
        def get(self, project_id: str, expt_id: str) -> Envelope:
            """Read the experiment's optimisations: every trial and the best one."""
            return list_optimizations(project_id, expt_id)

        @ns.expect(body)
        @ns.response(202, "optimisation job queued (every trial, in one job)", job_envelope)
        @document_errors(ns, 400, 401, 404, 409, 422)
        def post(self, project_id: str, expt_id: str) -> Envelope:
            """Search the experiment's hyperparameters: each trial trains and validates a
            run and its metric is fed back to the sampler."""
            return start_optimization(project_id, expt_id)

    return ns
