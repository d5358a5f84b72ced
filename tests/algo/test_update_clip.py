"""Norm bounding of client updates (`update_clip`): fixed bound, median-relative bound, off."""

from __future__ import annotations

import math

import pytest
import torch

from synalgo.update_clip import UpdateClipper, update_norm

GLOBAL = {"w": torch.zeros(4), "count": torch.tensor(3)}


def update(value: float) -> dict[str, torch.Tensor]:
    """A state whose update (minus GLOBAL) has norm 2 * |value|."""
    return {"w": torch.full((4,), value), "count": torch.tensor(7)}


def run(mode, values: list[float], factor: float = 5.0):
    folded: dict[str, dict[str, torch.Tensor]] = {}
    clipper = UpdateClipper(mode, factor, GLOBAL,
                            lambda state, n, pid: folded.__setitem__(pid, state))
    for index, value in enumerate(values):
        clipper.add(update(value), 10, f"w{index}")
    clipper.flush()
    return folded, clipper.notes


def test_auto_scales_an_outlier_down_to_the_median_norm_and_keeps_the_others() -> None:
    folded, notes = run("auto", [1.0, 1e6, 1.1, 0.9])
    assert len(folded) == 4
    median = 2.2  # norms 2, 2e6, 2.2: the first three have median 2.2
    assert update_norm(folded["w1"], GLOBAL) == pytest.approx(median, rel=1e-5)
    assert notes["w1"]["clipped"] and notes["w1"]["update_norm"] == pytest.approx(2e6)
    for pid in ("w0", "w2", "w3"):
        assert not notes[pid]["clipped"]
    assert torch.equal(folded["w0"]["w"], torch.full((4,), 1.0))
    assert int(folded["w1"]["count"]) == 7  # integer entries are not scaled


def test_auto_with_an_outlier_arriving_first_clips_it_once_the_median_is_known() -> None:
    folded, notes = run("auto", [1e6, 1.0, 1.0])
    assert notes["w0"]["clipped"]
    assert update_norm(folded["w0"], GLOBAL) == pytest.approx(2.0, rel=1e-5)


def test_auto_folds_an_update_within_the_factor_as_sent() -> None:
    folded, notes = run("auto", [1.0, 4.9, 1.0], factor=5.0)
    assert not notes["w1"]["clipped"]
    assert torch.equal(folded["w1"]["w"], torch.full((4,), 4.9))


def test_auto_with_fewer_than_three_updates_folds_them_unclipped() -> None:
    folded, notes = run("auto", [1e6, 1.0])
    assert not any(note["clipped"] for note in notes.values())
    assert update_norm(folded["w0"], GLOBAL) == pytest.approx(2e6)


def test_a_fixed_bound_clips_every_larger_update() -> None:
    folded, notes = run(3.0, [1.0, 10.0])
    assert not notes["w0"]["clipped"] and notes["w1"]["clipped"]
    assert update_norm(folded["w1"], GLOBAL) == pytest.approx(3.0, rel=1e-5)


def test_off_folds_as_sent_and_notes_nothing() -> None:
    folded, notes = run(None, [1e6, 1.0, 1.0])
    assert notes == {}
    assert update_norm(folded["w0"], GLOBAL) == pytest.approx(2e6)
    assert math.isfinite(update_norm(folded["w1"], GLOBAL))


def test_an_update_whose_norm_overflows_counts_for_nothing_and_stays_finite() -> None:
    folded, notes = run(3.0, [1.0, 3e38])
    assert notes["w1"]["clipped"]
    assert torch.equal(folded["w1"]["w"], GLOBAL["w"])


def test_update_norm_is_the_exact_norm_over_slices_and_dtypes() -> None:
    generator = torch.Generator().manual_seed(3)
    large = torch.randn(3 * (1 << 18) + 5, generator=generator)  # several slices, a short tail
    state = {"large": large, "transposed": torch.randn(40, 30, generator=generator).t(),
             "half": torch.randn(9, generator=generator).half(), "count": torch.arange(4),
             "empty": torch.zeros(0)}
    base = {"large": torch.randn(large.shape, generator=generator),
            "transposed": torch.zeros(30, 40), "half": torch.ones(9),
            "count": torch.zeros(4, dtype=torch.long), "empty": torch.zeros(0)}
    exact = math.sqrt(sum(float(((state[name].double() - base[name].double()) ** 2).sum())
                          for name in ("large", "transposed", "half")))
    assert update_norm(state, base) == pytest.approx(exact, rel=1e-6)
    state["half"][3] = float("nan")
    assert math.isnan(update_norm(state, base))
