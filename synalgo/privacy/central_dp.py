"""Central client-level DP on the TTP (run field `dp` with `mode: "central"`).

Each round the TTP clips every Worker's update delta (its weights minus the round's global
weights) to L2 norm C, takes the unweighted mean over the m Workers that answered (each
Worker's influence on it is at most C/m, whatever its sample count), and adds Gaussian noise
of std z_Δ·C/m to every floating-point entry. With `adaptive_clip`, C follows Andrew et al.
(2021): each Worker's indicator is "update norm <= C" (before clipping), the noisy fraction
b = (sum of b_k + N(0, sigma_b^2)) / m with sigma_b = m/20, then C <- C exp(-eta (b - gamma))
with gamma = 0.5, eta = 0.2, C_0 = `clip`; this round's noise uses this round's C, and
z_Δ = (z^-2 - (2 sigma_b)^-2)^(-1/2) so that both releases together cost what noise
multiplier z costs.

The noise is drawn from the operating system's CSPRNG (`os.urandom`, Box-Muller in float64):
no seed exists that the TTP or anyone else could replay, unlike numpy's or torch's generators,
whose state can be recovered from their outputs. Accounting: one Gaussian mechanism of noise
multiplier z per round on the whole grid (every Worker takes part every round: no sampling
amplification).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from synalgo.privacy.accounting import epsilon
from synalgo.state import State
from synalgo.update_clip import scale_update_, update_norm

TARGET_QUANTILE = 0.5
CLIP_LEARNING_RATE = 0.2


def secure_normal(count: int) -> np.ndarray:
    """`count` independent N(0, 1) draws (float64) from `os.urandom` via Box-Muller."""
    pairs = (count + 1) // 2
    words = np.frombuffer(os.urandom(16 * pairs), dtype=np.uint64).reshape(2, pairs)
    uniform = ((words >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0**-53  # in (0, 1]
    radius = np.sqrt(-2.0 * np.log(uniform[0]))
    angle = 2.0 * math.pi * uniform[1]
    return np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])[:count]


def update_noise_multiplier(noise_multiplier: float, participants: int,
                            adaptive: bool) -> float:
    """z_Δ: the noise multiplier of the update mean (z itself without adaptive clipping)."""
    if not adaptive:
        return noise_multiplier
    sigma_b = participants / 20.0
    if noise_multiplier >= 2.0 * sigma_b:
        raise ValueError(f"adaptive_clip with {participants} Workers needs noise_multiplier < "
                         f"{2.0 * sigma_b:g} (m/10); lower it or set adaptive_clip false")
    return (noise_multiplier**-2 - (2.0 * sigma_b) ** -2) ** -0.5


class CentralPrivacy:
    """The central-DP state of one training on the TTP: C, the rounds spent, accounting."""

    def __init__(self, dp: dict[str, Any], normal: Any = secure_normal) -> None:
        self.noise_multiplier = float(dp["noise_multiplier"])
        self.clip = float(dp["clip"])
        self.adaptive = bool(dp.get("adaptive_clip"))
        self.delta = float(dp["delta"])
        self.target_epsilon = dp.get("target_epsilon")
        self.rounds_spent = 0
        self.normal = normal

    def epsilon(self, rounds: int | None = None) -> float:
        """ε(δ) after `rounds` rounds (default: the rounds aggregated so far)."""
        spent = self.rounds_spent if rounds is None else rounds
        return epsilon([(self.noise_multiplier, 1.0, spent)], self.delta)

    def next_round_allowed(self) -> bool:
        """False when one more round would pass `target_epsilon`."""
        return self.target_epsilon is None or self.epsilon(self.rounds_spent + 1) \
            <= self.target_epsilon

    def resume(self, rounds: list[dict[str, Any]]) -> None:
        """Continue after the recorded round reports (their `privacy` notes)."""
        self.rounds_spent = len(rounds)
        if rounds and (rounds[-1].get("privacy") or {}).get("next_clip"):
            self.clip = float(rounds[-1]["privacy"]["next_clip"])

    def start_round(self, inner: Any, global_state: State) -> CentralAggregator:
        """An aggregator that clips, averages (unweighted) through `inner`, and adds noise."""
        return CentralAggregator(self, inner, global_state)


class CentralAggregator:
    """One round of central DP around the strategy's mean aggregator; `notes` holds the
    round's clip, noise std and (noisy) unclipped fraction once `result` ran."""

    def __init__(self, privacy: CentralPrivacy, inner: Any, global_state: State) -> None:
        self.privacy = privacy
        self.inner = inner
        self.global_state = global_state
        self.unclipped = 0
        self.n_updates = 0
        self.notes: dict[str, Any] = {}

    def add(self, state: State, n_samples: int, participant_id: str | None = None) -> None:
        """Clip one update to C and fold it with weight 1 (the unweighted mean)."""
        clip = self.privacy.clip
        norm = update_norm(state, self.global_state)
        self.unclipped += int(norm <= clip)
        scale_update_(state, self.global_state, clip / norm if norm > clip else 1.0)
        self.inner.add(state, 1, participant_id=participant_id)
        self.n_updates += 1

    def result(self, like: State | None = None) -> State:
        """The noisy mean; then the next round's C when adaptive."""
        mean = self.inner.result(like=like)
        privacy, m = self.privacy, max(self.n_updates, 1)
        std = update_noise_multiplier(privacy.noise_multiplier, m, privacy.adaptive) \
            * privacy.clip / m
        noisy = {}
        for name, tensor in mean.items():
            if tensor.is_floating_point() and std > 0:
                noise = torch.from_numpy(privacy.normal(tensor.numel())).reshape(tensor.shape)
                tensor = (tensor.to(torch.float64) + std * noise).to(tensor.dtype)
            noisy[name] = tensor
        self.notes = {"clip": privacy.clip, "noise_std": std}
        if privacy.adaptive:
            fraction = (self.unclipped + float(privacy.normal(1)[0]) * m / 20.0) / m
            privacy.clip *= math.exp(-CLIP_LEARNING_RATE * (fraction - TARGET_QUANTILE))
            self.notes["unclipped_fraction"] = fraction
        privacy.rounds_spent += 1
        self.notes["next_clip"] = privacy.clip
        return noisy
