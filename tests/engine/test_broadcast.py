"""Compressed downloads: only Workers that hold the last model get a delta, and the model
they rebuild is the one the TTP checks their replies against."""

from __future__ import annotations

import torch

from synalgo.compression import expand_update
from synergos_ttp.engine.broadcast import Broadcast


def model(value: float) -> dict[str, torch.Tensor]:
    return {"w": torch.linspace(-1, 1, 200).reshape(20, 10) * value,
            "steps": torch.tensor(int(value * 10))}


def test_the_first_round_and_newcomers_get_the_full_model() -> None:
    broadcast = Broadcast("int8", seed=3)
    received, delta = broadcast.prepare(model(1.0), 1)
    assert delta is None and torch.equal(received["w"], model(1.0)["w"])
    broadcast.settle(received, 1, set())
    assert broadcast.prepare(model(1.1), 2)[1] is None  # nobody holds round 1's model


def test_holders_rebuild_the_received_model_from_the_int8_delta() -> None:
    broadcast = Broadcast("int8", seed=3)
    first, _ = broadcast.prepare(model(1.0), 1)
    broadcast.settle(first, 1, {"a"})
    received, delta = broadcast.prepare(model(1.1), 2)
    assert delta is not None and delta.header["base_round"] == 1
    assert delta.tensors["w"].dtype == torch.int8
    rebuilt = expand_update(delta.tensors, delta.header["compression"], "int8", first)
    assert torch.equal(rebuilt["w"], received["w"]) and torch.equal(rebuilt["steps"],
                                                                    received["steps"])
    step = float((model(1.1)["w"] - first["w"]).abs().max()) / 127
    assert float((received["w"] - model(1.1)["w"]).abs().max()) <= step


def test_no_compression_keeps_no_reference() -> None:
    broadcast = Broadcast("none")
    received, delta = broadcast.prepare(model(1.0), 1)
    broadcast.settle(received, 1, {"a"})
    assert delta is None and broadcast.reference is None
