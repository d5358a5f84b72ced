"""The data port's binary routes, `/data/<project_id>/<expt_id>/<run_id>/{fit,evaluate,predict,
coalitions}` and the later secure-aggregation stages `secagg-{shares,masked,unmask}`.

Requests carry `synalgo.codec` bodies (safetensors + JSON header). `fit` answers with a codec
body (local weights, header `n_samples`, `loss`, `epochs_run`, `loss_history`); `evaluate` and
`predict` answer with JSON envelopes, as does `coalitions` (the metric of many coalition
models, `synergos_worker.coalitions`). Errors are envelopes: 400 undecodable body, 404 run not
initialised, 413 body over `--max_body_bytes`, 422 weights that do not fit the model. The
port is a `synrest.binary_app.BinaryPortApp`, not Flask: it is called every round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from synalgo.codec import decode, encode
from synalgo.errors import CodecError
from synergos_worker import local_ops, secure_rounds
from synergos_worker.coalitions import evaluate_coalitions
from synergos_worker.identifiers import check_run_key
from synergos_worker.services import WorkerServices
from synergos_worker.state import RunNotLive, RunState
from synrest.binary_app import BinaryPortApp, BinaryRequest, BinaryResponse
from synrest.envelope import success
from synrest.errors import BadRequest, NotFound
from synrest.node_config import NodeConfig

RUN_ROUTE = "/data/<project_id>/<expt_id>/<run_id>"


class DataPortHandlers:
    """The fit, evaluate and predict handlers over one Worker's services."""

    def __init__(self, services: WorkerServices) -> None:
        self.services = services

    def fit(self, request: BinaryRequest) -> BinaryResponse:
        """Local training from the global weights; answers local weights + sample count + loss."""
        state = self._live_run(request)
        tensors, header = _decoded_body(request)
        payload, answer = local_ops.fit(state, tensors, header, self.services.store)
        return BinaryResponse(200, encode(payload, answer))

    def secure_stage(self, stage: str) -> Callable[[BinaryRequest], BinaryResponse]:
        """The handler of one later secure-aggregation stage (`secure_rounds.step`)."""
        def handle(request: BinaryRequest) -> BinaryResponse:
            state = self._live_run(request)
            _, header = _decoded_body(request)
            return BinaryResponse(200, encode(*secure_rounds.step(state, stage, header)))
        return handle

    def evaluate(self, request: BinaryRequest) -> tuple[dict[str, Any], int]:
        """Statistics of the global weights on the requested metas (default `evaluate`)."""
        state = self._live_run(request)
        tensors, header = _decoded_body(request)
        return success(200, "data.evaluate", local_ops.evaluate(state, tensors, header),
                       params=request.params)

    def predict(self, request: BinaryRequest) -> tuple[dict[str, Any], int]:
        """Predictions of the global weights on one meta (default `predict`), written to files."""
        state = self._live_run(request)
        tensors, header = _decoded_body(request)
        answer = local_ops.predict(state, tensors, header, self.services.store)
        return success(200, "data.predict", answer, params=request.params)

    def coalitions(self, request: BinaryRequest) -> tuple[dict[str, Any], int]:
        """The metric of every coalition model in the body on the evaluate data."""
        state = self._live_run(request)
        tensors, header = _decoded_body(request)
        return success(200, "data.coalitions", evaluate_coalitions(state, tensors, header),
                       params=request.params)

    def _live_run(self, request: BinaryRequest) -> RunState:
        params = request.params
        key = check_run_key(params["project_id"], params["expt_id"], params["run_id"])
        try:
            return self.services.runs.get(key)
        except RunNotLive:
            raise NotFound(f"run {'/'.join(key)} is not initialised on this Worker: call "
                           "POST /worker/initialise first") from None


def _decoded_body(request: BinaryRequest) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    if not request.body:
        raise BadRequest("the body must be a synalgo.codec payload (application/octet-stream)")
    try:
        return decode(request.body, max_bytes=request.max_body_bytes)
    except CodecError as error:
        raise BadRequest(f"the body is not a synalgo.codec payload: {error}") from None


def build_data_app(node: NodeConfig, services: WorkerServices, token: str | None,
                   max_body_bytes: int) -> BinaryPortApp:
    """The data port of a Worker: the run routes plus `GET /health`."""
    app = BinaryPortApp(node, token, max_body_bytes)
    handlers = DataPortHandlers(services)
    views: tuple[tuple[str, Callable[[BinaryRequest], Any]], ...] = (
        ("fit", handlers.fit), ("evaluate", handlers.evaluate), ("predict", handlers.predict),
        ("coalitions", handlers.coalitions))
    for name, view in views:
        app.add_route(f"{RUN_ROUTE}/{name}", f"data.{name}", view)
    for stage in secure_rounds.STAGES:
        app.add_route(f"{RUN_ROUTE}/secagg-{stage}", f"data.secagg-{stage}",
                      handlers.secure_stage(stage))
    return app
