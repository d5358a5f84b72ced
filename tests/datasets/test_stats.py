"""Aggregate statistics: per-column summaries (wide and narrow paths) and numeric profiles."""

from __future__ import annotations

import numpy as np
import pytest

from synergos_worker.datasets.stats import column_summary, profile_numeric


def test_summary_skips_nan_and_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(70_000, 12)).astype(np.float32)  # several blocks
    matrix[5, 2] = np.nan
    matrix[:, 7] = np.nan
    names = [f"c{i}" for i in range(12)]
    wide = column_summary(matrix, names)
    narrow = column_summary(matrix[:, :3], names[:3])
    column = matrix[:, 2].astype(np.float64)
    column = column[np.isfinite(column)]
    expected = {"count": 69_999, "sum": column.sum(), "sum_sq": (column**2).sum(),
                "min": column.min(), "max": column.max()}
    assert wide["c2"] == pytest.approx(expected, rel=1e-9)
    assert narrow["c2"] == pytest.approx(expected, rel=1e-9)
    assert wide["c7"] == {"count": 0, "sum": 0.0, "sum_sq": 0.0, "min": None, "max": None}


def test_profile_reports_describe_stats_and_the_imputed_summary() -> None:
    values = np.array([1, 2, np.nan, 4, np.inf], dtype=np.float32)
    profile = profile_numeric(values, "int32")
    assert profile.described == pytest.approx({
        "datatype": "int32", "count": 3, "mean": 7 / 3, "std": np.std([1, 2, 4], ddof=1),
        "min": 1.0, "25%": 1.5, "50%": 2.0, "75%": 3.0, "max": 4.0})
    assert profile.fill == 2.0
    imputed = np.array([1, 2, 2, 4, 2], dtype=np.float64)
    assert profile.summary == {"count": 5, "sum": imputed.sum(), "sum_sq": (imputed**2).sum(),
                               "min": 1.0, "max": 4.0}
    assert profile_numeric(np.full(3, np.nan, dtype=np.float32), "float64") is None


def test_quartiles_of_large_columns_come_from_a_close_sample() -> None:
    values = np.random.default_rng(1).normal(size=1_000_000).astype(np.float32)
    described = profile_numeric(values, "float32").described
    exact = np.percentile(values, [25, 50, 75])
    assert [described["25%"], described["50%"], described["75%"]] == pytest.approx(exact, abs=0.01)
    assert described["mean"] == pytest.approx(values.astype(np.float64).mean())
