"""Run lifecycle on the command port: `/worker/initialise/...` loads a run's tensors,
`/worker/terminate/...` frees them, `GET /worker/predict/...` reads the statistics written and
`GET /worker/predictions/...` serves the predictions file itself (CSV) to the token holder."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, request, send_file
from flask_restx import Namespace, Resource

from syncommon.metas import METAS
from synergos_worker.api.models import document_errors
from synergos_worker.identifiers import check_run_key
from synergos_worker.predictions import read_predictions
from synergos_worker.run_setup import build_run_state
from synergos_worker.services import current_services
from synrest.envelope import Envelope, success
from synrest.errors import BadRequest, NotFound
from synrest.payload import json_object

RUN_PATH = "<string:project_id>/<string:expt_id>/<string:run_id>"
logger = logging.getLogger("synergos.worker.runs")


def initialise_run(project_id: str, expt_id: str, run_id: str) -> Envelope:
    """201 with the tensors loaded for a new run, 200 when the run is already live."""
    key = check_run_key(project_id, expt_id, run_id)
    body = json_object(allow_empty=False)
    services = current_services()
    live = services.runs.find(key)
    if live is not None:
        return success(200, "initialise.post", live.describe())
    state, created = services.runs.add(build_run_state(services, key, body))
    if created:
        logger.info("run initialised", extra={
            "project_id": key[0], "expt_id": key[1], "run_id": key[2],
            "algorithm": state.run["algorithm"],
            "n_samples": {meta: t.n_samples for meta, t in state.tensors.items()}})
    return success(201 if created else 200, "initialise.post", state.describe())


def terminate_run(project_id: str, expt_id: str, run_id: str) -> Envelope:
    """Free a run's tensors; idempotent (`was_live` says whether it was live)."""
    key = check_run_key(project_id, expt_id, run_id)
    removed = current_services().runs.remove(key)
    if removed is not None:
        logger.info("run terminated", extra={
            "project_id": key[0], "expt_id": key[1], "run_id": key[2], "fits": removed.fits,
            "fit_seconds": round(removed.fit_seconds, 3)})
    return success(200, "terminate.post", {"was_live": removed is not None})


def read_run_predictions(project_id: str, expt_id: str, run_id: str) -> Envelope:
    """Statistics and file paths of every meta predicted for the run."""
    key = check_run_key(project_id, expt_id, run_id)
    found = read_predictions(current_services().store.run_dir(*key))
    if not found:
        raise NotFound(f"no predictions have been written for run {'/'.join(key)}")
    return success(200, "predict.get", found)


def predictions_csv(project_id: str, expt_id: str, run_id: str) -> Response:
    """The run's predictions file of `?meta=` (default `predict`) as `text/csv`."""
    key = check_run_key(project_id, expt_id, run_id)
    meta = request.args.get("meta", "predict")
    if meta not in METAS:
        raise BadRequest(f"meta must be one of {', '.join(METAS)}, got {meta!r}")
    path = current_services().store.run_dir(*key) / f"predictions_{meta}.csv"
    if not path.is_file():
        raise NotFound(f"no {meta!r} predictions have been written for run {'/'.join(key)}")
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name=f"predictions_{'_'.join(key)}_{meta}.csv", max_age=0)


def register_run_routes(ns: Namespace, models: dict[str, Any]) -> None:
    """Add initialise, terminate and predict to the Worker namespace."""

    @ns.route(f"/initialise/{RUN_PATH}", endpoint="initialise")
    class Initialise(Resource):
        @ns.expect(models["initialise_body"], validate=False)
        @ns.response(201, "tensors loaded: samples per meta and number of classes",
                     models["run_answer"])
        @ns.response(200, "the run was live already", models["run_answer"])
        @document_errors(ns, models["error"], 400, 401, 404, 409, 422)
        def post(self, project_id: str, expt_id: str, run_id: str) -> Envelope:
            """Load the aligned, globally scaled tensors of every meta for this run."""
            return initialise_run(project_id, expt_id, run_id)

    @ns.route(f"/terminate/{RUN_PATH}", endpoint="terminate")
    class Terminate(Resource):
        @ns.response(200, "the run's tensors are freed", models["run_answer"])
        @document_errors(ns, models["error"], 400, 401)
        def post(self, project_id: str, expt_id: str, run_id: str) -> Envelope:
            """Free the tensors of this run."""
            return terminate_run(project_id, expt_id, run_id)

    @ns.route(f"/predict/{RUN_PATH}", endpoint="predict")
    class Predict(Resource):
        @ns.response(200, "{meta: {statistics, res_path, predictions_path}}",
                     models["run_answer"])
        @document_errors(ns, models["error"], 400, 401, 404)
        def get(self, project_id: str, expt_id: str, run_id: str) -> Envelope:
            """Statistics and file paths of the predictions written for this run."""
            return read_run_predictions(project_id, expt_id, run_id)

    @ns.route(f"/predictions/{RUN_PATH}", endpoint="predictions")
    class Predictions(Resource):
        @ns.param("meta", "which data was predicted on: train, evaluate or predict (default)")
        @ns.produces(["text/csv"])
        @ns.response(200, "the predictions CSV: row id, y_pred, proba_<label>..., "
                          "unscored_reason")
        @document_errors(ns, models["error"], 400, 401, 404)
        def get(self, project_id: str, expt_id: str, run_id: str) -> Response:
            """The predictions written for this run, as CSV (they never leave the Worker
            otherwise)."""
            return predictions_csv(project_id, expt_id, run_id)
