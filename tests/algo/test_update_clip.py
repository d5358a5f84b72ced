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


def test_auto_bounds_an_outlier_to_factor_times_the_median_and_keeps_the_others() -> None:
    folded, notes = run("auto", [1.0, 1e6, 1.1, 0.9])
    assert len(folded) == 4
    median = 2 * 1.0  # norms 2, 2e6, 2.2: the first three have median 2.2
    assert update_norm(folded["w1"], GLOBAL) == pytest.approx(5 * 2.2, rel=1e-5)
    assert notes["w1"]["clipped"] and notes["w1"]["update_norm"] == pytest.approx(2e6)
    for pid in ("w0", "w2", "w3"):
        assert not notes[pid]["clipped"]
    assert torch.equal(folded["w0"]["w"], torch.full((4,), 1.0))
    assert int(folded["w1"]["count"]) == 7  # integer entries are not scaled
    assert median < update_norm(folded["w1"], GLOBAL)


def test_auto_with_an_outlier_arriving_first_clips_it_once_the_median_is_known() -> None:
    folded, notes = run("auto", [1e6, 1.0, 1.0])
    assert notes["w0"]["clipped"]
    assert update_norm(folded["w0"], GLOBAL) == pytest.approx(5 * 2.0, rel=1e-5)


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
