"""The common result of every datatype pipeline for one meta, and dense outer joins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synergos_worker.datasets.targets import Target

Allocator = Callable[[tuple[int, int]], np.ndarray]


def zeros_matrix(shape: tuple[int, int]) -> np.ndarray:
    """The default `Allocator`: a zeroed float32 matrix in memory."""
    return np.zeros(shape, dtype=np.float32)


@dataclass
class MetaFeatures:
    """One meta's prepared features (float32, columns sorted), raw targets and descriptions."""

    X: np.ndarray
    columns: list[str]
    target: Target
    schema: dict[str, str]
    metadata: dict[str, Any]
    categorical: list[str] = field(default_factory=list)
    image_shape: list[int] | None = None
    summary: dict[str, Any] | None = None
    rows: RowIds | None = None


@dataclass
class RowIds:
    """Who each row is, for predictions: `ids` of the prepared rows (in order) under the
    column `name`, and the input rows left out (`{"position", "id", "reason"}`, position
    counted over every input row). Kept on the Worker: never part of the poll answer."""

    name: str
    ids: list[str]
    unscored: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON document stored beside the prepared arrays."""
        return {"name": self.name, "ids": self.ids, "unscored": self.unscored}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> RowIds:
        """Inverse of `to_json`."""
        return cls(document["name"], list(document["ids"]), list(document["unscored"]))


ROW_NUMBER = "row"


def row_numbers(n_rows: int, prefix: str = "") -> list[str]:
    """0-based row numbers of a source file as ids (`prefix` names the file when a meta reads
    several)."""
    return [f"{prefix}{index}" for index in range(n_rows)]


def outer_join_dense(parts: Sequence[tuple[np.ndarray, list[str]]],
                     allocate: Allocator = zeros_matrix) -> tuple[np.ndarray, list[str]]:
    """Stack row blocks whose columns differ: the result has the sorted union of the columns and
    zeros where a block lacks one (`allocate` makes the zeroed result)."""
    columns = sorted({name for _, names in parts for name in names})
    position = {name: index for index, name in enumerate(columns)}
    n_rows = sum(len(matrix) for matrix, _ in parts)
    joined = allocate((n_rows, len(columns)))
    start = 0
    for matrix, names in parts:
        index = np.array([position[name] for name in names], dtype=np.int64)
        joined[start:start + len(matrix), index] = matrix
        start += len(matrix)
    return joined, columns
