"""Central client-level DP: noise from the CSPRNG with the formula's std, clipped updates,
the unweighted mean, adaptive clipping converging to the target quantile, accounting."""

from __future__ import annotations

import math

import dp_accounting
import numpy as np
import pytest
import torch

from synalgo.aggregation import WeightedMeanAccumulator
from synalgo.privacy.central_dp import (
    CentralPrivacy,
    secure_normal,
    update_noise_multiplier,
)
from synalgo.run_config import normalise_run
from synalgo.update_clip import update_norm

CENTRAL = {"mode": "central", "noise_multiplier": 1.0, "clip": 0.5, "adaptive_clip": False,
           "delta": 1e-5, "target_epsilon": None}


class Recording:
    """A mean aggregator that also keeps what it was given."""

    def __init__(self) -> None:
        self.inner = WeightedMeanAccumulator()
        self.added: list[tuple[dict[str, torch.Tensor], int]] = []

    def add(self, state, n_samples, participant_id=None):
        self.added.append(({k: v.clone() for k, v in state.items()}, n_samples))
        self.inner.add(state, n_samples, participant_id)

    def result(self, like=None):
        return self.inner.result(like)


def zeros(size: int = 1000) -> dict[str, torch.Tensor]:
    return {"w": torch.zeros(size, dtype=torch.float64)}


def test_secure_normal_has_unit_std_and_zero_mean() -> None:
    draws = secure_normal(400_001)
    assert draws.shape == (400_001,)
    assert abs(draws.mean()) < 0.01
    assert draws.std() == pytest.approx(1.0, rel=0.02)


def test_noise_std_matches_z_c_over_m_and_updates_are_clipped() -> None:
    privacy = CentralPrivacy(CENTRAL)
    global_state = zeros(200_000)
    inner = Recording()
    round_ = privacy.start_round(inner, global_state)
    generator = torch.Generator().manual_seed(0)
    for index, scale in enumerate((0.1, 3.0, 40.0, 0.49)):
        update = torch.randn(200_000, generator=generator, dtype=torch.float64)
        round_.add({"w": update / update.norm() * scale}, n_samples=10 ** index)
    noisy = round_.result(like=global_state)
    for state, weight in inner.added:
        assert update_norm(state, global_state) <= 0.5 + 1e-6
        assert weight == 1  # unweighted: a Worker's sample count cannot raise its influence
    mean = inner.inner.result(like=global_state)["w"]
    expected_std = 1.0 * 0.5 / 4
    assert (noisy["w"] - mean).std().item() == pytest.approx(expected_std, rel=0.02)
    assert round_.notes == {"clip": 0.5, "noise_std": expected_std, "next_clip": 0.5}
    assert privacy.rounds_spent == 1


def test_adaptive_clip_converges_to_the_median_norm() -> None:
    privacy = CentralPrivacy({**CENTRAL, "adaptive_clip": True, "clip": 0.1,
                              "noise_multiplier": 0.5})
    rng = np.random.default_rng(5)
    m = 50
    clips = []
    for _ in range(300):
        global_state = zeros(4)
        round_ = privacy.start_round(Recording(), global_state)
        for norm in rng.lognormal(mean=math.log(2.0), sigma=0.5, size=m):
            round_.add({"w": torch.tensor([norm, 0.0, 0.0, 0.0], dtype=torch.float64)}, 1)
        round_.result(like=global_state)
        clips.append(privacy.clip)
    assert np.mean(clips[-100:]) == pytest.approx(2.0, rel=0.1)  # the median of the norms
    assert clips[0] < 0.2  # it started from C0 = 0.1


def test_adaptive_clip_splits_the_noise_as_andrew_et_al() -> None:
    z_update = update_noise_multiplier(0.5, 50, adaptive=True)
    assert z_update ** -2 + (2 * 50 / 20) ** -2 == pytest.approx(0.5 ** -2)
    with pytest.raises(ValueError, match=r"noise_multiplier < 0\.3"):
        update_noise_multiplier(1.0, 3, adaptive=True)


def test_central_epsilon_is_dp_accountings_gaussian_composition() -> None:
    privacy = CentralPrivacy({**CENTRAL, "target_epsilon": 5.0})
    accountant = dp_accounting.rdp.RdpAccountant()
    accountant.compose(dp_accounting.SelfComposedDpEvent(
        dp_accounting.GaussianDpEvent(1.0), 4))
    assert privacy.epsilon(4) == pytest.approx(accountant.get_epsilon(1e-5), rel=0.01)
    spent = [privacy.epsilon(rounds) for rounds in range(1, 6)]
    assert spent == sorted(spent)
    privacy.rounds_spent = max(r for r in range(0, 50) if privacy.epsilon(r) <= 5.0)
    assert not privacy.next_round_allowed()


def test_central_mode_needs_the_mean_aggregator() -> None:
    _, errors = normalise_run({"aggregator": "krum", "dp": {"mode": "central",
                                                            "noise_multiplier": 1.0}})
    assert "mean" in errors["dp"]
    run, errors = normalise_run({"dp": {"mode": "central", "noise_multiplier": 1.0}})
    assert not errors and run["dp"]["clip"] == 0.1
