"""Protocol parameters: threshold, clipping range, quantisation bits and the modulus check."""

from __future__ import annotations

import math
from dataclasses import dataclass

from synalgo.secure_aggregation.errors import SecAggError

MODULUS_BITS = 32
DEFAULT_CLIP = 8.0
DEFAULT_BITS = 22


def default_threshold(n_clients: int) -> int:
    """max(2, ceil(2N/3)): the fewest shares that reconstruct a secret."""
    return max(2, math.ceil(2 * n_clients / 3))


@dataclass(frozen=True)
class SecAggParams:
    """One round's settings: `n_clients` taking part, `threshold` shares to reconstruct,
    values clipped to [-clip, clip] and quantised to `bits` bits."""

    n_clients: int
    threshold: int
    clip: float = DEFAULT_CLIP
    bits: int = DEFAULT_BITS

    @classmethod
    def for_clients(cls, n_clients: int, threshold: int | None = None,
                    clip: float = DEFAULT_CLIP, bits: int = DEFAULT_BITS) -> SecAggParams:
        """Parameters with the default threshold unless one is given; checked."""
        params = cls(n_clients, threshold or default_threshold(n_clients), clip, bits)
        params.check()
        return params

    def check(self) -> None:
        """Raise `SecAggError` naming the fields when the sum could overflow the modulus or
        the threshold cannot work."""
        if not 1 <= self.bits <= MODULUS_BITS - 1:
            raise SecAggError(f"secagg_bits {self.bits} must be between 1 and "
                              f"{MODULUS_BITS - 1}")
        if not (math.isfinite(self.clip) and self.clip > 0):
            raise SecAggError(f"secagg_clip {self.clip} must be a positive number")
        if self.n_clients * 2 ** self.bits > 2 ** MODULUS_BITS:
            raise SecAggError(
                f"{self.n_clients} participants x 2^secagg_bits ({self.bits}) exceeds the "
                f"modulus 2^{MODULUS_BITS}: the sum would overflow; lower secagg_bits to at "
                f"most {MODULUS_BITS - math.ceil(math.log2(self.n_clients))}")
        if not 2 <= self.threshold <= self.n_clients:
            raise SecAggError(f"secagg_threshold {self.threshold} must be between 2 and the "
                              f"number of participants ({self.n_clients})")

    @property
    def levels(self) -> int:
        """The largest quantised value, 2^bits - 1."""
        return 2 ** self.bits - 1

    @property
    def step(self) -> float:
        """The width of one quantisation step."""
        return 2 * self.clip / self.levels
