"""The Worker's secure-aggregation stages: in order, once each, for the round in progress."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from synalgo.secure_aggregation import SecAggClient, SecAggServer
from synalgo.secure_aggregation.config import round_params
from synergos_worker import secure_rounds
from synrest.errors import Conflict, ValidationFailed

RUN = {"secure_aggregation": True, "secagg_clip": 1.0, "secagg_bits": 16,
       "secagg_threshold": None}
RECEIVED = {"weight": torch.zeros(3), "count": torch.tensor(2)}
LOCAL = {"weight": torch.tensor([0.5, -2.0, 0.25]), "count": torch.tensor(5)}


def worker(participant_id: str) -> SimpleNamespace:
    """The parts of a RunState the stages use."""
    return SimpleNamespace(participant_id=participant_id, key=("p", "e", "r"), run=RUN,
                           lock=threading.Lock(), secure_round=None)


def fit_header(participants: list[str], weights: dict[str, float] | None = None) -> dict:
    return {"round": 1, secure_rounds.HEADER_KEY: {
        "participants": participants, "weights": weights or dict.fromkeys(participants, 1.0)}}


def test_a_round_runs_its_stages_once_in_order_and_sums_the_clipped_deltas() -> None:
    state = worker("a")
    peer = SecAggClient("b", b"p/e/r|round 1", round_params(RUN, 2))
    server = SecAggServer(b"p/e/r|round 1", round_params(RUN, 2), 3)
    server.receive_keys("a", secure_rounds.begin(state, fit_header(["a", "b"]), RECEIVED,
                                                 LOCAL))
    server.receive_keys("b", peer.advertise())
    with pytest.raises(Conflict, match="expected stage 'shares', got 'unmask'"):
        secure_rounds.step(state, "unmask", {"round": 1})
    roster = {"round": 1, **server.roster_message()}
    server.receive_shares("a", secure_rounds.step(state, "shares", roster)[1])
    server.receive_shares("b", peer.share_keys(roster))
    with pytest.raises(Conflict, match="expected stage 'masked', got 'shares'"):
        secure_rounds.step(state, "shares", roster)
    tensors, _ = secure_rounds.step(state, "masked", {"round": 1, **server.shares_message("a")})
    server.receive_masked("a", tensors["masked"].numpy().view(np.uint32))
    server.receive_masked("b", peer.masked_input(server.shares_message("b"), np.zeros(3)))
    request = {"round": 1, **server.unmask_message()}
    server.receive_unmask("a", secure_rounds.step(state, "unmask", request)[1])
    with pytest.raises(Conflict, match="no secure-aggregation round 1"):
        secure_rounds.step(state, "unmask", request)  # a second unmasking is refused
    server.receive_unmask("b", peer.unmask(request))
    total, survivors = server.result()
    assert survivors == ["a", "b"]
    assert np.allclose(total, [0.5, -1.0, 0.25], atol=2 * round_params(RUN, 2).step)


def test_a_fit_header_without_this_worker_or_with_a_bad_weight_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        secure_rounds.begin(worker("a"), fit_header(["b", "c"]), RECEIVED, LOCAL)
    with pytest.raises(ValidationFailed):
        secure_rounds.begin(worker("a"), fit_header(["a", "b"], {"a": 2.0, "b": 1.0}),
                            RECEIVED, LOCAL)
    with pytest.raises(ValidationFailed):
        secure_rounds.begin(worker("a"), {"round": 1}, RECEIVED, LOCAL)


def test_a_refused_unmasking_request_ends_the_round() -> None:
    state = worker("a")
    peer = SecAggClient("b", b"p/e/r|round 1", round_params(RUN, 2))
    server = SecAggServer(b"p/e/r|round 1", round_params(RUN, 2), 3)
    server.receive_keys("a", secure_rounds.begin(state, fit_header(["a", "b"]), RECEIVED,
                                                 LOCAL))
    server.receive_keys("b", peer.advertise())
    roster = {"round": 1, **server.roster_message()}
    server.receive_shares("a", secure_rounds.step(state, "shares", roster)[1])
    server.receive_shares("b", peer.share_keys(roster))
    secure_rounds.step(state, "masked", {"round": 1, **server.shares_message("a")})
    with pytest.raises(ValidationFailed):
        secure_rounds.step(state, "unmask", {"round": 1, "alive": ["a", "b"],
                                             "dropped": ["b"]})
    assert state.secure_round is None
