"""`to_frame()` of a contributions envelope: participant x round, totals and shares."""

from __future__ import annotations

import pytest

from synergos.resources.contributions import ContributionEnvelope


def _record(run_id: str) -> dict:
    return {"key": {"project_id": "p", "expt_id": "e", "run_id": run_id},
            "per_round": {"a": {"1": 0.2, "2": 0.1}, "b": {"1": -0.05, "2": 0.0}},
            "totals": {"a": 0.3, "b": -0.05}, "shares": {"a": 1.0, "b": 0.0}}


def test_one_run_is_indexed_by_participant() -> None:
    frame = ContributionEnvelope({"data": [_record("r")]}).to_frame()
    assert list(frame.index) == ["a", "b"]
    assert list(frame.columns) == [1, 2, "total", "share"]
    assert frame.loc["a", 1] == pytest.approx(0.2) and frame.loc["b", "total"] == -0.05


def test_several_runs_keep_the_run_in_the_index() -> None:
    frame = ContributionEnvelope({"data": [_record("r1"), _record("r2")]}).to_frame()
    assert frame.index.names == ["expt_id", "run_id", "participant_id"]
    assert frame.loc[("e", "r2", "a"), "share"] == 1.0


def test_no_records_give_an_empty_frame() -> None:
    assert ContributionEnvelope({"data": []}).to_frame().empty
