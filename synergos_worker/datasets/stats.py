"""Aggregate statistics that may leave the Worker: per-column sums for global scaling and
describe-style summaries. Nothing row-level is returned."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

BLOCK_ROWS = 32768
QUANTILE_SAMPLE = 131072
NARROW_COLUMNS = 8


def finite_or_none(value: float) -> float | None:
    """`value` as a plain float, or None when it is NaN/inf (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


class SummaryAccumulator:
    """Running per-column count of finite values, sum, sum of squares, min and max (float64),
    fed block by block so no full-size temporary is ever made."""

    def __init__(self, n_columns: int) -> None:
        self.count = np.zeros(n_columns, dtype=np.int64)
        self.total = np.zeros(n_columns, dtype=np.float64)
        self.total_sq = np.zeros(n_columns, dtype=np.float64)
        self.low = np.full(n_columns, np.inf)
        self.high = np.full(n_columns, -np.inf)

    def add(self, block: np.ndarray) -> None:
        """Account for a block of rows (any float dtype; NaN/inf cells are not counted)."""
        if len(block) == 0:
            return
        block = block.astype(np.float64)
        finite = np.isfinite(block)
        if finite.all():
            self.count += len(block)
            self.low = np.minimum(self.low, block.min(axis=0))
            self.high = np.maximum(self.high, block.max(axis=0))
        else:
            self.count += finite.sum(axis=0)
            self.low = np.minimum(self.low, np.where(finite, block, np.inf).min(axis=0))
            self.high = np.maximum(self.high, np.where(finite, block, -np.inf).max(axis=0))
            block[~finite] = 0.0
        self.total += block.sum(axis=0)
        self.total_sq += np.einsum("ij,ij->j", block, block)

    def result(self, columns: list[str]) -> dict[str, dict[str, Any]]:
        """`{column: {count, sum, sum_sq, min, max}}` (min/max None for a column with no value)."""
        return {
            name: summary_entry(self.count[i], self.total[i], self.total_sq[i], self.low[i],
                                self.high[i])
            for i, name in enumerate(columns)
        }


def column_summary(matrix: np.ndarray, columns: list[str]) -> dict[str, dict[str, Any]]:
    """Per-column summary (see `SummaryAccumulator`) of a whole matrix: column by column when
    it is narrow (targets), else block by block."""
    if matrix.shape[1] <= NARROW_COLUMNS:
        summary = {}
        for index, name in enumerate(columns):
            column = matrix[:, index].astype(np.float64)
            finite = column[np.isfinite(column)]
            summary[name] = summary_entry(
                finite.size, finite.sum(), np.dot(finite, finite),
                finite.min() if finite.size else math.nan,
                finite.max() if finite.size else math.nan)
        return summary
    accumulator = SummaryAccumulator(matrix.shape[1])
    for start in range(0, len(matrix), BLOCK_ROWS):
        accumulator.add(matrix[start:start + BLOCK_ROWS])
    return accumulator.result(columns)


def summary_entry(count: int, total: float, total_sq: float, low: float,
                  high: float) -> dict[str, Any]:
    """One column's summary in the poll answer's shape."""
    return {"count": int(count), "sum": float(total), "sum_sq": float(total_sq),
            "min": finite_or_none(low) if count else None,
            "max": finite_or_none(high) if count else None}


@dataclass
class NumericProfile:
    """A numeric column's describe-style statistics, its imputation value (the median) and the
    summary of the column as it will be after imputation."""

    described: dict[str, Any]
    fill: np.float32
    summary: dict[str, Any]


def profile_numeric(values: np.ndarray, dtype_name: str) -> NumericProfile | None:
    """Profile the finite values of one float32 column; None when it has none (drop it).

    Beyond `QUANTILE_SAMPLE` values, the quartiles (and so the median used for imputation)
    come from a systematic sample (every k-th value) of that size: exact enough, much faster.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    step = -(-finite.size // QUANTILE_SAMPLE)
    q25, q50, q75 = np.percentile(finite[::step], [25.0, 50.0, 75.0])
    wide = finite.astype(np.float64)
    total = float(wide.sum())
    total_sq = float(np.dot(wide, wide))
    mean = total / wide.size
    std = float(np.std(wide, ddof=1)) if wide.size > 1 else math.nan
    low, high = float(finite.min()), float(finite.max())
    described = {
        "datatype": dtype_name, "count": int(finite.size), "mean": finite_or_none(mean),
        "std": finite_or_none(std), "min": low, "25%": float(q25), "50%": float(q50),
        "75%": float(q75), "max": high,
    }
    fill = np.float32(q50)
    missing = values.size - finite.size
    summary = summary_entry(values.size, total + missing * float(fill),
                            total_sq + missing * float(fill) ** 2,
                            min(low, float(fill)), max(high, float(fill)))
    return NumericProfile(described, fill, summary)


def one_hot_summary(level_count: int, n_rows: int) -> dict[str, Any]:
    """Summary of a 0/1 indicator column with `level_count` ones among `n_rows` rows."""
    return summary_entry(n_rows, level_count, level_count, 0.0 if level_count < n_rows else 1.0,
                         1.0 if level_count > 0 else 0.0)


def describe_categorical(levels: list[str], counts: np.ndarray, dtype_name: str) -> dict[str, Any]:
    """Describe-style statistics of a categorical column from its level counts."""
    total = int(counts.sum())
    described: dict[str, Any] = {
        "datatype": dtype_name, "labels": list(levels), "count": total,
        "unique": int((counts > 0).sum()),
    }
    if total:
        top = int(np.argmax(counts))
        described.update(top=levels[top], freq=int(counts[top]))
    return described
