"""`initialise`: check the TTP's run description and build a live `RunState` from the
project's last poll, its stored alignment and the prepared arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import torch

from synalgo.errors import AlgoError, AlignmentError
from synalgo.model_spec import validate_model_spec
from synalgo.run_config import normalise_run
from synalgo.strategies import get_strategy
from synalgo.strategies.base import Strategy
from synalgo.targets import format_targets
from syncommon.metas import METAS
from synergos_worker.datasets import NotPrepared
from synergos_worker.services import WorkerServices
from synergos_worker.state import RunKey, RunState
from synergos_worker.tensors import MetaTensors
from synrest.errors import Conflict, NotFound, ValidationFailed

if TYPE_CHECKING:
    from synalgo.privacy.worker_dp import WorkerPrivacy

ACTIONS = ("classify", "regress")
MAX_PARTICIPANT_ID = 128


def _check_body(body: dict[str, Any], max_parameters: int
                ) -> tuple[str, str, list[dict[str, Any]], dict[str, Any]]:
    errors: dict[str, str] = {}
    participant_id = body.get("participant_id")
    if not isinstance(participant_id, str) or not 0 < len(participant_id) <= MAX_PARTICIPANT_ID:
        errors["participant_id"] = f"must be a string of 1-{MAX_PARTICIPANT_ID} characters"
    action = body.get("action")
    if action not in ACTIONS:
        errors["action"] = "must be 'classify' or 'regress'"
    spec = body.get("model")
    errors.update(validate_model_spec(spec, max_parameters=max_parameters))
    run_fields = body.get("run", {})
    if isinstance(run_fields, dict):
        run, run_errors = normalise_run(run_fields)
        errors.update({f"run.{name}": problem for name, problem in run_errors.items()})
    else:
        run, errors["run"] = {}, "must be an object of run fields"
    if errors:
        raise ValidationFailed(errors)
    return cast(str, participant_id), cast(str, action), cast(list, spec), run


def _project_inputs(services: WorkerServices, project_id: str, action: str
                    ) -> tuple[list[str], dict[str, Any]]:
    poll = services.store.load_poll(project_id)
    if poll is None:
        raise NotFound(f"project {project_id!r} has not been polled on this Worker")
    if poll.get("action") != action:
        raise ValidationFailed({"action": f"project {project_id!r} was polled for "
                                          f"{poll.get('action')!r}, not {action!r}"})
    metas = [meta for meta in METAS if meta in poll["metas"]]
    if not metas:
        raise Conflict(f"project {project_id!r} has no data on this Worker")
    alignment = services.store.load_alignment(project_id)
    if alignment is None:
        raise Conflict(f"project {project_id!r} has no alignment on this Worker: "
                       "POST /worker/align first")
    polled_headers = {meta: poll["metas"][meta]["headers"] for meta in metas}
    if alignment.get("headers") != polled_headers:
        raise Conflict(f"project {project_id!r} was polled again since its alignment; "
                       "align it again")
    return metas, alignment


def _load_tensors(services: WorkerServices, project_id: str, metas: list[str],
                  alignment: dict[str, Any], action: str) -> dict[str, MetaTensors]:
    tensors = {}
    for meta in metas:
        try:
            loaded = services.tensor_cache.load(project_id, meta, alignment, action)
        except NotPrepared as error:
            raise Conflict(f"{error}; poll the project again") from None
        except AlignmentError as error:
            raise Conflict(f"the stored alignment does not fit the {meta!r} data ({error}); "
                           "align the project again") from None
        if loaded.n_samples:
            tensors[meta] = loaded
    if not tensors:
        raise Conflict(f"project {project_id!r} has no rows on this Worker")
    return tensors


def _probe_model(model: torch.nn.Module, sample: MetaTensors, run: dict[str, Any],
                 action: str, n_classes: int, device: torch.device) -> None:
    """Run one sample through the model and the criterion's target formatting."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outputs = model(sample.X[:1].to(device))
            format_targets(outputs, sample.y[:1].to(device), run["criterion"], n_classes, action)
    except AlgoError as error:
        raise ValidationFailed({"model": f"does not fit the aligned data: {error}"}) from None
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        raise ValidationFailed({"model": f"does not fit the aligned data: {error}"}) from None
    finally:
        model.train(was_training)


def build_run_state(services: WorkerServices, key: RunKey, body: dict[str, Any]) -> RunState:
    """A live run for `key` from the initialise `body`; raises 404/409/422 envelopes."""
    project_id, expt_id, run_id = key
    participant_id, action, spec, run = _check_body(body, services.max_model_parameters)
    metas, alignment = _project_inputs(services, project_id, action)
    tensors = _load_tensors(services, project_id, metas, alignment, action)
    n_classes = len(alignment["superset"]["y"]) if action == "classify" else 1
    try:
        strategy = get_strategy(run, spec=spec, n_classes=n_classes)
    except AlgoError as error:
        raise ValidationFailed({"run": str(error)}) from None
    sample = tensors.get("train") or next(iter(tensors.values()))
    try:
        model = strategy.build_client_model(spec, sample.X[:1], n_classes, seed=run["seed"])
    except (AlgoError, RuntimeError, ValueError) as error:
        raise ValidationFailed({"model": f"does not fit the aligned data: {error}"}) from None
    model = model.to(services.device)
    _probe_model(model, sample, strategy.run, action, n_classes, services.device)
    privacy = _worker_privacy(strategy.run, model, tensors)
    return RunState(project_id=project_id, expt_id=expt_id, run_id=run_id,
                    participant_id=participant_id, action=action, spec=spec,
                    run=strategy.run, strategy=strategy, n_classes=n_classes, tensors=tensors,
                    model=model, labels=list(alignment["superset"]["y"]), privacy=privacy,
                    client_state=_stored_client_state(services, key, strategy,
                                                                   model))


def _worker_privacy(run: dict[str, Any], model: torch.nn.Module,
                    tensors: dict[str, MetaTensors]) -> WorkerPrivacy | None:
    """The run's DP-SGD state when it asks for Worker-side DP; 422 when the model has a
    layer DP-SGD cannot train or one round alone would spend more than `target_epsilon`."""
    dp = run.get("dp")
    if not dp or dp["mode"] != "worker" or "train" not in tensors:
        return None
    from synalgo.privacy.worker_dp import WorkerPrivacy, unsupported_layers  # Opacus: lazily

    problems = unsupported_layers(model)
    if problems:
        raise ValidationFailed(problems, "; ".join(problems.values()))
    privacy = WorkerPrivacy(dp, run, tensors["train"].n_samples)
    target = dp.get("target_epsilon")
    if target is not None and privacy.epsilon_after_next_round() > target:
        problem = (f"one round on this Worker alone spends epsilon "
                   f"{privacy.epsilon_after_next_round():.3g} > target_epsilon {target:g}: "
                   "raise noise_multiplier, lower epochs or raise batch_size")
        raise ValidationFailed({"run.dp.target_epsilon": problem}, problem)
    return privacy


def _stored_client_state(services: WorkerServices, key: RunKey, strategy: Strategy,
                         model: torch.nn.Module) -> dict[str, torch.Tensor] | None:
    """The state an earlier fit of this run kept (a FedGKT client model, SCAFFOLD's control
    variate), when it fits what the strategy keeps for this model."""
    expected = strategy.client_state_template(model)
    if expected is None:
        return None
    stored = services.store.load_client_state(key)
    if stored is None or set(stored) != set(expected) or any(
            stored[name].shape != expected[name].shape for name in expected):
        return None
    return stored
