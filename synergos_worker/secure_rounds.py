"""The Worker's half of secure aggregation, one round at a time.

A `fit` whose header carries `secure_aggregation` (the round's participants and each one's
weight) keeps the Worker's update (weighted, clipped delta to the received model) here and
answers only its two public keys. The next stages arrive on their own data-port routes
(`secagg-shares`, `secagg-masked`, `secagg-unmask`), each accepted once and in order: a
second unmasking request could hand the TTP both a peer's seed and its mask key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from synalgo.secure_aggregation import SecAggClient, SecAggError
from synalgo.secure_aggregation.config import round_params
from synalgo.secure_aggregation.messages import check_ids
from synalgo.secure_aggregation.vectors import delta_vector
from synergos_worker.state import RunState
from synrest.errors import Conflict, ValidationFailed

HEADER_KEY = "secure_aggregation"
MASKED_TENSOR = "masked"
STAGES = ("shares", "masked", "unmask")


@dataclass
class SecureRound:
    """One round in progress: its number, the protocol client, the update to mask and the
    next stage it accepts."""

    number: int
    client: SecAggClient
    values: np.ndarray | None
    next_stage: str = "shares"


def _context(state: RunState, number: int) -> bytes:
    return f"{'/'.join(state.key)}|round {number}".encode()


def begin(state: RunState, header: dict[str, Any], received: dict[str, torch.Tensor],
          local: dict[str, torch.Tensor]) -> dict[str, str]:
    """Keep this fit's update for the round (called under the run's lock) and answer the
    public keys; 422 naming the field when the round's description does not fit."""
    entry = header.get(HEADER_KEY)
    number = header.get("round")
    if not isinstance(entry, dict) or not isinstance(number, int) or isinstance(number, bool):
        raise ValidationFailed({HEADER_KEY: "this run uses secure aggregation: the fit header "
                                            "must carry the round and its participants"})
    try:
        participants = check_ids(entry.get("participants"), "participants")
        if state.participant_id not in participants:
            raise SecAggError(f"participants do not include {state.participant_id}")
        weight = (entry.get("weights") or {}).get(state.participant_id)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
            raise SecAggError(f"weights[{state.participant_id}] must be a number in (0, 1]")
        params = round_params(state.run, len(participants))
    except SecAggError as error:
        raise ValidationFailed({HEADER_KEY: str(error)}) from None
    values = np.clip(delta_vector(local, received), -params.clip, params.clip) * weight
    client = SecAggClient(state.participant_id, _context(state, number), params)
    state.secure_round = SecureRound(number, client, values)
    return client.advertise()


def step(state: RunState, stage: str, header: dict[str, Any]
         ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """One later stage of the round in progress: `(tensors, header)` of the answer."""
    with state.lock:
        pending = state.secure_round
        number = header.get("round")
        if pending is None or pending.number != number:
            raise Conflict(f"no secure-aggregation round {number!r} in progress on this Worker")
        if pending.next_stage != stage:
            raise Conflict(f"secure-aggregation round {number}: expected stage "
                           f"{pending.next_stage!r}, got {stage!r}")
        try:
            if stage == "shares":
                answer: tuple[dict[str, torch.Tensor], dict[str, Any]] = (
                    {}, pending.client.share_keys(header))
                pending.next_stage = "masked"
            elif stage == "masked":
                if pending.values is None:
                    raise Conflict(f"secure-aggregation round {number}: the masked input was "
                                   "already sent")
                vector = pending.client.masked_input(header, pending.values)
                pending.values = None
                pending.next_stage = "unmask"
                answer = ({MASKED_TENSOR: torch.from_numpy(vector.view(np.int32))}, {})
            else:
                state.secure_round = None  # one unmasking per round, whatever happens
                answer = ({}, pending.client.unmask(header))
        except SecAggError as error:
            state.secure_round = None
            raise ValidationFailed({HEADER_KEY: str(error)}) from None
    return answer
