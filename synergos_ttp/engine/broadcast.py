"""What each Worker holds of the global model, so a fit body can carry a compressed delta.

With `update_compression` `float16` or `int8`, the TTP keeps the model it last sent
(`reference`) and the Workers that surely hold it (those whose fit on it was accepted).
Those get the next global model as a compressed delta against it (header `compression`
and `base_round`); every other Worker gets the same model in full float32. Both sides
rebuild it with `synalgo.compression.expand_update`, so they agree on it bit for bit; what
the rounding lost is still in the next round's delta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from synalgo.compression import compress_update, expand_update
from synalgo.state import State


@dataclass
class Delta:
    """One round's compressed delta and the header fields that go with it."""

    tensors: State
    header: dict[str, Any]


@dataclass
class Broadcast:
    """The model the Workers hold (`reference`, sent in round `round`) and who holds it."""

    mode: str
    seed: int = 0
    reference: State | None = None
    round: int = 0
    holders: set[str] = field(default_factory=set)

    def prepare(self, global_state: State, round_number: int) -> tuple[State, Delta | None]:
        """`(received model, delta for the holders)`: the model every Worker will start this
        round from, and the compressed delta that gives it to the holders (None: all full)."""
        if self.mode == "none" or self.reference is None or not self.holders:
            return global_state, None
        generator = torch.Generator().manual_seed((self.seed + round_number) % 2**63)
        tensors, entry = compress_update(global_state, self.reference, self.mode, {}, generator)
        received = expand_update(tensors, entry, self.mode, self.reference)
        return received, Delta(tensors, {"compression": entry, "base_round": self.round})

    def settle(self, received: State, round_number: int, answered: set[str]) -> None:
        """After a round: `received` is what `answered` now hold."""
        if self.mode == "none":
            return
        self.reference = received
        self.round = round_number
        self.holders = set(answered)
