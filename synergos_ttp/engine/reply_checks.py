"""Checks every `fit` reply against the round's global model before it is folded.

A Worker is not trusted: its reply must carry exactly the global model's tensor names, each
with the global's shape and dtype, only finite values, a finite loss, and an `n_samples`
that is a positive integer no larger than the training rows that Worker reported when the
run was initialised; a compressed reply (run field `update_compression`) must carry the
dtypes and scales its mode implies and is expanded to float32 weights first. A reply that
fails is rejected (`ReplyRejected`, kind `rejected`) with the reason; it never reaches the
aggregator, so it cannot poison the others' fold.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from synalgo.compression import HEADER_KEY as COMPRESSION_KEY
from synalgo.compression import expand_update
from synalgo.state import State, all_finite
from synergos_ttp.engine.errors import WorkerCallError

HEADER_ALLOWANCE = 1024 * 1024  # reply header (JSON, loss history) and safetensors table


class ReplyRejected(WorkerCallError):
    """A Worker's reply does not fit the round's global model."""

    def __init__(self, participant_id: str, reason: str) -> None:
        super().__init__(participant_id, f"reply rejected: {reason}", kind="rejected")


def reply_size_limit(global_state: State) -> int:
    """The most bytes a fit reply may announce: the model's tensors plus a header allowance."""
    data = sum(tensor.numel() * tensor.element_size() for tensor in global_state.values())
    names = sum(len(name) + 128 for name in global_state)  # one safetensors table entry each
    return data + names + HEADER_ALLOWANCE


def check_reply(participant_id: str, tensors: State, header: dict[str, Any],
                global_state: State, max_samples: int | None) -> int:
    """Raise `ReplyRejected` unless the reply fits `global_state`; its `n_samples` otherwise."""
    reason = (_layout_problem(tensors, global_state) or _values_problem(tensors)
              or _header_problem(header, max_samples))
    if reason:
        raise ReplyRejected(participant_id, reason)
    return int(header["n_samples"])


def expanded_reply(participant_id: str, tensors: State, header: dict[str, Any],
                   global_state: State, compression: str) -> State:
    """The float32 weights of a reply sent under the run's `update_compression` (the reply
    itself when "none"); `ReplyRejected` when it was not compressed the way the run says."""
    if compression == "none":
        if COMPRESSION_KEY in header:
            raise ReplyRejected(participant_id, "compressed reply, the run's "
                                                "update_compression is 'none'")
        return tensors
    try:
        return expand_update(tensors, header.get(COMPRESSION_KEY), compression, global_state)
    except ValueError as error:
        raise ReplyRejected(participant_id, str(error)) from None


def _layout_problem(tensors: State, global_state: State) -> str | None:
    missing = [name for name in global_state if name not in tensors]
    extra = [name for name in tensors if name not in global_state]
    if missing or extra:
        parts = []
        if missing:
            parts.append("lacks tensor(s) " + ", ".join(map(repr, missing[:5])))
        if extra:
            parts.append("has unknown tensor(s) " + ", ".join(map(repr, extra[:5])))
        return " and ".join(parts)
    for name, expected in global_state.items():
        tensor = tensors[name]
        if tuple(tensor.shape) != tuple(expected.shape):
            return (f"tensor {name!r} has shape {list(tensor.shape)}, the model's is "
                    f"{list(expected.shape)}")
        if tensor.dtype != expected.dtype:
            return (f"tensor {name!r} is {_dtype_name(tensor.dtype)}, the model's is "
                    f"{_dtype_name(expected.dtype)}")
    return None


def _values_problem(tensors: State) -> str | None:
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not all_finite(tensor):
            bad = int((~torch.isfinite(tensor)).sum())
            return f"tensor {name!r} holds {bad} non-finite value(s) (NaN or Inf)"
    return None


def _header_problem(header: dict[str, Any], max_samples: int | None) -> str | None:
    n_samples = header.get("n_samples")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples <= 0:
        return f"n_samples {n_samples!r} is not a positive integer"
    if max_samples is not None and n_samples > max_samples:
        return (f"n_samples {n_samples} exceeds the {max_samples} training rows the Worker "
                f"reported for this run")
    loss = header.get("loss")
    if isinstance(loss, bool) or not isinstance(loss, int | float) or not math.isfinite(loss):
        return f"loss {loss!r} is not a finite number"
    return None


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def reply_evaluation(participant_id: str, header: dict[str, Any]) -> tuple[float, int] | None:
    """`(loss, n_samples)` of the received model on the Worker's `evaluate` data, carried in
    its fit reply (None when absent); `ReplyRejected` when the entry is malformed."""
    entry = header.get("evaluate")
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise ReplyRejected(participant_id, f"evaluate {entry!r} is not an object")
    loss, n_samples = entry.get("loss"), entry.get("n_samples")
    if isinstance(loss, bool) or not isinstance(loss, int | float) or not math.isfinite(loss):
        raise ReplyRejected(participant_id, f"evaluate loss {loss!r} is not a finite number")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples <= 0:
        raise ReplyRejected(participant_id,
                            f"evaluate n_samples {n_samples!r} is not a positive integer")
    return float(loss), n_samples
