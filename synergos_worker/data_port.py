"""The data port's binary routes, `/data/<project_id>/<expt_id>/<run_id>/{fit,evaluate,predict}`.

Requests carry `synalgo.codec` bodies (safetensors + JSON header). `fit` answers with a codec
body (local weights, header `n_samples`, `loss`, `epochs_run`, `loss_history`); `evaluate` and
`predict` answer with JSON envelopes. Errors are envelopes: 400 undecodable body, 404 run not
initialised, 413 body over `--max_body_bytes`, 422 weights that do not fit the model.
"""

from __future__ import annotations

from typing import Any

import torch
from flask import Blueprint, Response, current_app, request

from synalgo.codec import decode, encode
from synalgo.errors import CodecError
from synergos_worker import local_ops
from synergos_worker.identifiers import check_run_key
from synergos_worker.services import current_services
from synergos_worker.state import RunNotLive, RunState
from synrest.envelope import success
from synrest.errors import BadRequest, NotFound

BINARY = "application/octet-stream"
RUN_ROUTE = "/<project_id>/<expt_id>/<run_id>"


def _live_run(project_id: str, expt_id: str, run_id: str) -> RunState:
    key = check_run_key(project_id, expt_id, run_id)
    try:
        return current_services().runs.get(key)
    except RunNotLive:
        raise NotFound(f"run {'/'.join(key)} is not initialised on this Worker: call "
                       "POST /worker/initialise first") from None


def _decoded_body() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    blob = request.get_data(cache=False)
    if not blob:
        raise BadRequest("the body must be a synalgo.codec payload (application/octet-stream)")
    try:
        return decode(blob, max_bytes=request.max_content_length)
    except CodecError as error:
        raise BadRequest(f"the body is not a synalgo.codec payload: {error}") from None


def fit(project_id: str, expt_id: str, run_id: str) -> Response:
    """Local training from the global weights; answers local weights + sample count + loss."""
    state = _live_run(project_id, expt_id, run_id)
    tensors, header = _decoded_body()
    payload, answer = local_ops.fit(state, tensors, header, current_services().store)
    return current_app.response_class(encode(payload, answer), status=200, mimetype=BINARY)


def evaluate(project_id: str, expt_id: str, run_id: str) -> tuple[dict[str, Any], int]:
    """Statistics of the global weights on the requested metas (default `evaluate`)."""
    state = _live_run(project_id, expt_id, run_id)
    tensors, header = _decoded_body()
    return success(200, "data.evaluate", local_ops.evaluate(state, tensors, header))


def predict(project_id: str, expt_id: str, run_id: str) -> tuple[dict[str, Any], int]:
    """Predictions of the global weights on one meta (default `predict`), written to files."""
    state = _live_run(project_id, expt_id, run_id)
    tensors, header = _decoded_body()
    answer = local_ops.predict(state, tensors, header, current_services().store)
    return success(200, "data.predict", answer)


def build_data_blueprint() -> Blueprint:
    """A fresh blueprint of the binary routes (register it with `register_binary_blueprint`)."""
    blueprint = Blueprint("data", __name__, url_prefix="/data")
    for name, view in (("fit", fit), ("evaluate", evaluate), ("predict", predict)):
        blueprint.add_url_rule(f"{RUN_ROUTE}/{name}", endpoint=name, view_func=view,
                               methods=["POST"])
    return blueprint
