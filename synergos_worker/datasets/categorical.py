"""Categorical columns as integer codes into sorted, normalised string levels."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

_INTEGRAL_FLOAT = re.compile(r"([+-]?)(\d+)\.0*")


def normalise_level(value: object) -> str | None:
    """Canonical string of a category value: stripped, `1.0` -> `1`; None for missing/empty.

    Integral floats are written as integers so that `exang_0` and `exang_0.0` are one feature.
    """
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (float, np.floating)) and math.isfinite(value) \
            and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    if not text:
        return None
    match = _INTEGRAL_FLOAT.fullmatch(text)
    if match:
        sign, digits = match.groups()
        number = digits.lstrip("0") or "0"
        return number if sign != "-" or number == "0" else f"-{number}"
    return text


def _smallest_code_dtype(n_levels: int) -> np.dtype:
    if n_levels < 127:
        return np.dtype(np.int8)
    if n_levels < 32767:
        return np.dtype(np.int16)
    return np.dtype(np.int32)


@dataclass
class CategoricalColumn:
    """Codes (-1 = missing) into `levels`, which are sorted, unique, normalised strings."""

    codes: np.ndarray
    levels: list[str]

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def from_raw_levels(cls, codes: np.ndarray, raw_levels: Sequence[object]) -> CategoricalColumn:
        """Normalise, merge and sort `raw_levels`, recoding `codes` (-1 = missing) to match."""
        names = [normalise_level(level) for level in raw_levels]
        levels = sorted({name for name in names if name is not None})
        position = {name: index for index, name in enumerate(levels)}
        table = np.array([-1] + [position[n] if n is not None else -1 for n in names],
                         dtype=_smallest_code_dtype(len(levels)))
        identity = names == levels and len(table) - 1 == len(levels)
        if identity and codes.dtype == table.dtype:
            return cls(codes, levels)
        return cls(table[np.asarray(codes, dtype=np.int64) + 1], levels)

    @classmethod
    def from_series(cls, series: pd.Series) -> CategoricalColumn:
        """Build from a pandas Series of any dtype (missing values become -1)."""
        if isinstance(series.dtype, pd.CategoricalDtype):
            return cls.from_raw_levels(series.cat.codes.to_numpy(), list(series.cat.categories))
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        return cls.from_raw_levels(codes, list(uniques))

    @classmethod
    def missing(cls, n_rows: int) -> CategoricalColumn:
        """A column of `n_rows` missing values."""
        return cls(np.full(n_rows, -1, dtype=np.int8), [])

    def is_missing(self) -> np.ndarray:
        """Boolean mask of missing rows."""
        return self.codes < 0

    def counts(self) -> np.ndarray:
        """Occurrences of each level (missing rows excluded)."""
        present = self.codes[self.codes >= 0]
        return np.bincount(present.astype(np.int64), minlength=len(self.levels))

    def take(self, rows: np.ndarray) -> CategoricalColumn:
        """The column restricted to `rows` (an index or boolean mask)."""
        return CategoricalColumn(self.codes[rows], self.levels)

    def pruned(self) -> CategoricalColumn:
        """The column without levels that no row uses."""
        used = [level for level, n in zip(self.levels, self.counts(), strict=True) if n > 0]
        return CategoricalColumn(self.recoded_subset(used), used)

    def recoded_subset(self, levels: list[str]) -> np.ndarray:
        """Codes into `levels` (sorted); rows whose level is not in `levels` become missing."""
        position = {name: index for index, name in enumerate(levels)}
        table = np.array([-1] + [position.get(name, -1) for name in self.levels],
                         dtype=_smallest_code_dtype(len(levels)))
        return table[self.codes.astype(np.int64) + 1]

    def recoded(self, levels: list[str]) -> np.ndarray:
        """Codes into a superset `levels` list (sorted), keeping -1 for missing."""
        if levels == self.levels:
            return self.codes
        position = {name: index for index, name in enumerate(levels)}
        table = np.array([-1] + [position[name] for name in self.levels],
                         dtype=_smallest_code_dtype(len(levels)))
        return table[self.codes.astype(np.int64) + 1]


def concat_categorical(parts: Sequence[CategoricalColumn | int]) -> CategoricalColumn:
    """Append columns row-wise over the union of their levels (an int part: that many missing
    rows)."""
    levels = sorted({level for part in parts if not isinstance(part, int) for level in part.levels})
    dtype = _smallest_code_dtype(len(levels))
    pieces = [
        np.full(part, -1, dtype=dtype) if isinstance(part, int)
        else part.recoded(levels).astype(dtype)
        for part in parts
    ]
    return CategoricalColumn(np.concatenate(pieces) if pieces else np.empty(0, dtype), levels)
