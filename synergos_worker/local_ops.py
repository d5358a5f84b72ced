"""What the data port does with a live run: local fit, evaluation and prediction.

Each function takes the run's lock, so two calls on one run never interleave. Weights come
from the TTP (checked against the run's model: names, shapes, finite values); statistics are
computed here from the Worker's own labels, and only aggregates leave the Worker.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from synalgo.compression import HEADER_KEY as COMPRESSION_KEY
from synalgo.compression import compress_update, expand_update
from synalgo.errors import AlgoError
from synalgo.local_training import evaluate_locally, model_outputs
from synalgo.metrics import compute_statistics
from synalgo.probabilities import class_probabilities, output_kind
from synalgo.state import State, all_finite
from synalgo.targets import predict_scores
from syncommon.metas import METAS
from synergos_worker import secure_rounds
from synergos_worker.feature_drift import drift_warnings
from synergos_worker.predictions import label_values, predictions_frame, write_predictions
from synergos_worker.project_store import ProjectStore
from synergos_worker.state import RunState
from synrest.errors import ApiError, Conflict, NotFound, ValidationFailed

logger = logging.getLogger("synergos.worker.training")


@contextmanager
def model_errors(what: str, field: str) -> Iterator[None]:
    """Turn failures of the model on this data into 422 (503 when memory runs out)."""
    try:
        yield
    except torch.OutOfMemoryError:
        raise ApiError(503, f"{what} ran out of memory; try a smaller batch_size") from None
    except (AlgoError, RuntimeError, ValueError) as error:
        raise ValidationFailed({field: str(error)}, f"{what} failed: {error}") from None


def check_weights(model: torch.nn.Module, tensors: State) -> None:
    """Raise ValidationFailed (422) unless `tensors` are exactly the model's state entries
    with the same shapes and finite values."""
    expected = model.state_dict()
    errors: dict[str, str] = {}
    for name in sorted(set(expected) - set(tensors))[:20]:
        errors[f"weights.{name}"] = "missing"
    for name in sorted(set(tensors) - set(expected))[:20]:
        errors[f"weights.{name}"] = "not a weight of this run's model"
    for name, reference in expected.items():
        given = tensors.get(name)
        if given is None:
            continue
        if tuple(given.shape) != tuple(reference.shape):
            errors[f"weights.{name}"] = (f"shape {list(given.shape)} does not match the model's "
                                         f"{list(reference.shape)}")
        elif given.is_floating_point() and not all_finite(given):
            errors[f"weights.{name}"] = "has non-finite values"
    if errors:
        raise ValidationFailed(errors, "the weights do not fit this run's model")


def _evaluation_weights(state: RunState, tensors: State) -> State:
    """The sent weights; for algorithms whose client model stays on the Worker (FedGKT),
    the run's own client model unless the sent weights are a client model."""
    if state.strategy.sends_global_weights or set(tensors) == set(state.model.state_dict()):
        if not tensors:
            raise ValidationFailed({"weights": "no weights were sent"})
        check_weights(state.model, tensors)
        return tensors
    if state.client_state is None:
        raise Conflict(f"run {'/'.join(state.key)} has no local {state.strategy.name} model "
                       "yet: fit it first")
    return state.client_state


def fit(state: RunState, tensors: State, header: dict[str, Any], store: ProjectStore
        ) -> tuple[State, dict[str, Any]]:
    """Train on the run's `train` data from the global weights; returns `(payload, header)`.
    Header `"evaluate": true` first measures the received model on the `evaluate` data (the
    round's evaluation loss rides on this one exchange). What the strategy keeps across
    rounds (`LocalFitResult.client_state`: FedGKT's client model, SCAFFOLD's control variate)
    is kept in memory and under the run's folder."""
    config = header.get("config") or {}
    if not isinstance(config, dict):
        raise ValidationFailed({"config": "must be an object"})
    wants_evaluation = header.get("evaluate", False)
    if not isinstance(wants_evaluation, bool):
        raise ValidationFailed({"evaluate": "must be true or false"})
    data = state.tensors.get("train")
    if data is None:
        raise Conflict(f"this Worker has no train data for project {state.project_id!r}")
    global_state: State | None
    with state.lock:
        tensors, extra = state.strategy.split_fit_tensors(tensors)
        global_state = None
        if state.strategy.sends_global_weights:
            tensors = _received_model(state, tensors, header)
            check_weights(state.model, tensors)
            _hold(state, tensors, header)
            global_state = tensors
        measured = global_state if global_state is not None else state.client_state
        evaluation = _received_model_loss(state, measured) if wants_evaluation else None
        started = time.perf_counter()
        with model_errors("local training", "fit"):
            if state.privacy is not None:
                _check_budget(state)
                result = state.privacy.fit(state.model, data.X, data.y, state.action,
                                           state.n_classes, global_state,
                                           proximal_mu=state.strategy.proximal_mu)
            else:
                result = state.strategy.fit_locally(
                    state.model, data.X, data.y, state.action, state.n_classes,
                    global_state=global_state, config=config, tensors=extra,
                    client_state=state.client_state)
        if result.client_state is not None:
            state.client_state = result.client_state
            store.save_client_state(state.key, result.client_state)
        keys = (secure_rounds.begin(state, header, tensors, dict(result.payload or {}))
                if state.run.get("secure_aggregation") else None)
        payload, compression = ({}, None) if keys is not None else _compressed(
            state, dict(result.payload or {}), tensors, header)
        seconds = time.perf_counter() - started
        state.fits += 1
        state.fit_seconds += seconds
    if logger.isEnabledFor(logging.DEBUG):  # one INFO line per run, at its end: a line per
        logger.debug("local fit finished", extra={  # fit is a visible share of a round's CPU
            "project_id": state.project_id, "expt_id": state.expt_id, "run_id": state.run_id,
            "round": header.get("round"), "n_samples": result.n_samples, "loss": result.loss,
            "epochs_run": result.epochs_run, "duration_s": round(seconds, 3)})
    answer = ({"n_samples": result.n_samples, secure_rounds.HEADER_KEY: keys}
              if keys is not None else  # the TTP learns nothing about this one update
              {"n_samples": result.n_samples, "loss": result.loss,
               "epochs_run": result.epochs_run, "loss_history": result.loss_history})
    if state.privacy is not None:
        answer["privacy"] = state.privacy.describe()
    if evaluation is not None:
        answer["evaluate"] = evaluation
    if compression is not None:
        answer[COMPRESSION_KEY] = compression
    return payload, answer


def _received_model(state: RunState, tensors: State, header: dict[str, Any]) -> State:
    """The global model a fit body stands for: the body's tensors, or the model this Worker
    holds plus the compressed delta the body carries (409 when it holds another base)."""
    entry = header.get(COMPRESSION_KEY)
    if entry is None:
        return tensors
    mode = state.run.get("update_compression", "none")
    if mode == "none":
        raise ValidationFailed({COMPRESSION_KEY: "this run's update_compression is 'none'"})
    base = header.get("base_round")
    if state.held_model is None or base != state.held_round:
        raise Conflict(f"the delta is against the global model of round {base!r}, this Worker "
                       f"holds round {state.held_round!r}: send the full model")
    try:
        return expand_update(tensors, entry, mode, state.held_model)
    except ValueError as error:
        raise ValidationFailed({COMPRESSION_KEY: str(error)}, "the delta does not fit the "
                                                               "held model") from None


def _hold(state: RunState, received: State, header: dict[str, Any]) -> None:
    """Keep the received global model: the next round's delta is against it. Kept without a
    copy: its tensors are this fit's own (decoded from the body, or expanded from a delta),
    and nothing changes them in place (training copies them into the run's model)."""
    if state.run.get("update_compression", "none") == "none":
        return
    state.held_model = dict(received)
    round_number = header.get("round")
    state.held_round = round_number if isinstance(round_number, int) else None


def _compressed(state: RunState, payload: State, received: State, header: dict[str, Any]
                ) -> tuple[State, dict[str, Any] | None]:
    """The payload as the run's `update_compression` sends it: the delta against the
    received global model, its rounding loss kept for the next fit (called under the lock)."""
    mode = state.run.get("update_compression", "none")
    if mode == "none" or not state.strategy.sends_global_weights:
        return payload, None
    round_number = header.get("round")
    offset = round_number if isinstance(round_number, int) else state.fits
    generator = torch.Generator().manual_seed(
        (int(state.run["seed"]) + zlib.crc32(state.participant_id.encode()) + offset) % 2**63)
    return compress_update(payload, received, mode, state.update_residual, generator)


def _received_model_loss(state: RunState, weights: State | None) -> dict[str, Any] | None:
    """`{loss, n_samples}` of the model a fit starts from on the `evaluate` data; None
    without evaluate data, labels, or (FedGKT's first round) a model to measure."""
    if weights is None or "evaluate" not in state.tensors:
        return None
    result = _run_model(state, "evaluate", weights, with_statistics=False)
    if result is None:
        return None
    return {"loss": result[0], "n_samples": result[3]}


def _check_budget(state: RunState) -> None:
    """409 when one more round would take this Worker past the run's `target_epsilon`."""
    privacy = state.privacy
    target = privacy.dp.get("target_epsilon") if privacy else None
    if privacy is None or target is None:
        return
    after = privacy.epsilon_after_next_round()
    if after > target:
        raise Conflict(f"privacy budget: another round would spend epsilon {after:.4g} > "
                       f"target_epsilon {target:g} on this Worker")


def _run_model(state: RunState, meta: str, weights: State, with_statistics: bool = True
               ) -> tuple[float, torch.Tensor, dict[str, Any] | None, int] | None:
    """`(loss, y_score, statistics, n_samples)` of the model with `weights` on the labeled
    rows of `meta` (statistics None when not asked for: a training's per-round loss needs
    none); None when no row of `meta` has a label."""
    data = state.tensors[meta].labeled_part()
    if data is None:
        return None
    with model_errors("evaluation", meta):
        state.model.load_state_dict(weights)
        loss, outputs = evaluate_locally(state.model, data.X, data.y, state.run, state.action,
                                         state.n_classes)
        _, y_score = predict_scores(outputs, state.action)
        statistics = (compute_statistics(state.action, data.y, y_score) if with_statistics
                      else None)
    return loss, y_score, statistics, data.n_samples


def _checked_metas(value: Any) -> list[str]:
    metas = ["evaluate"] if value is None else value
    if isinstance(metas, str):
        metas = [metas]
    if not isinstance(metas, list) or not all(meta in METAS for meta in metas):
        raise ValidationFailed({"metas": f"must be a list of {', '.join(METAS)}"})
    return list(dict.fromkeys(metas))


def evaluate(state: RunState, tensors: State, header: dict[str, Any]) -> dict[str, Any]:
    """`{meta: {loss, n_samples, statistics}}` for the requested metas that have data;
    header `"statistics": false` answers `{loss, n_samples}` only."""
    metas = [meta for meta in _checked_metas(header.get("metas")) if meta in state.tensors]
    with_statistics = header.get("statistics", True)
    if not isinstance(with_statistics, bool):
        raise ValidationFailed({"statistics": "must be true or false"})
    answer: dict[str, dict[str, Any]] = {}
    with state.lock:
        weights = _evaluation_weights(state, tensors)
        for meta in metas:
            result = _run_model(state, meta, weights, with_statistics)
            if result is None:  # prediction data without labels: nothing to evaluate
                continue
            loss, _, statistics, n_samples = result
            answer[meta] = {"loss": loss, "n_samples": n_samples}
            if with_statistics:
                answer[meta]["statistics"] = statistics
    return answer


def _scores(state: RunState, meta: str, weights: State) -> tuple[list[str] | None, np.ndarray]:
    """`(labels, values)`: class probabilities over the aligned labels, or regression
    predictions (labels None), of every row of `meta` with `weights`."""
    data = state.tensors[meta]
    with model_errors("prediction", meta):
        state.model.load_state_dict(weights)
        outputs = model_outputs(state.model, data.X, state.run.get("batch_size"))
        if state.action == "regress":
            return None, outputs.reshape(len(outputs), -1)[:, 0].double().numpy()
        probabilities = class_probabilities(outputs, output_kind(state.spec), state.n_classes)
    return label_values(state.labels), probabilities.numpy()


def predict(state: RunState, tensors: State, header: dict[str, Any],
            store: ProjectStore) -> dict[str, Any]:
    """Predict on one meta (default `predict`), write predictions and statistics under the
    run's folder, and return the summary `{n_rows, n_scored, n_unscored, n_labeled, warnings,
    statistics (when rows have labels), loss, res_path, predictions_path}`. Header
    `strict_features: true` refuses prediction data lacking training columns."""
    meta = header.get("meta", "predict")
    if meta not in METAS:
        raise ValidationFailed({"meta": f"must be one of {', '.join(METAS)}"})
    strict = header.get("strict_features", False)
    if not isinstance(strict, bool):
        raise ValidationFailed({"strict_features": "must be true or false"})
    if meta not in state.tensors:
        raise NotFound(f"this Worker has no {meta!r} data for project {state.project_id!r}")
    data = state.tensors[meta]
    warnings = (drift_warnings(store.outputs_dir, state.project_id, data.ignored, strict)
                if meta == "predict" else {})
    with state.lock:
        weights = _evaluation_weights(state, tensors)
        evaluated = _run_model(state, meta, weights)
        labels, values = _scores(state, meta, weights)
    frame = predictions_frame(data.rows, data.n_samples, labels, values)
    n_unscored = len(data.rows.unscored) if data.rows is not None else 0
    if n_unscored:
        warnings["unscored_rows"] = n_unscored
    summary: dict[str, Any] = {
        "n_rows": len(frame), "n_scored": data.n_samples, "n_unscored": n_unscored,
        "n_labeled": evaluated[3] if evaluated else 0, "warnings": warnings,
        "statistics": evaluated[2] if evaluated else None,
        "loss": evaluated[0] if evaluated else None}
    run_dir = store.run_dir(state.project_id, state.expt_id, state.run_id)
    paths = write_predictions(run_dir, meta, frame, summary["statistics"] or {})
    logger.info("predictions written", extra={
        "project_id": state.project_id, "expt_id": state.expt_id, "run_id": state.run_id,
        "meta": meta, "n_rows": len(frame), "warnings": sorted(warnings)})
    return {**summary, "n_samples": data.n_samples, **paths}
