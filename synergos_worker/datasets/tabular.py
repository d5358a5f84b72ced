"""Tabular pipeline: CSVs + schema -> imputed, one-hot encoded, sorted float32 matrix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synergos_worker.datasets.errors import InvalidDataset
from synergos_worker.datasets.features import (
    ROW_NUMBER,
    Allocator,
    MetaFeatures,
    RowIds,
    zeros_matrix,
)
from synergos_worker.datasets.folder import DatasetSpec, check_options, files_with_suffix
from synergos_worker.datasets.parallel import map_threads, thread_count
from synergos_worker.datasets.stats import (
    describe_categorical,
    one_hot_summary,
    profile_numeric,
)
from synergos_worker.datasets.tabular_read import (
    ColumnTable,
    concat_tables,
    read_schema,
    read_tabular_csv,
)
from synergos_worker.datasets.targets import TARGET

TABULAR_OPTIONS = {"sep", "na_values"}
BLOCK_ROWS = 4096


@dataclass
class _Source:
    """Where one output column comes from: a numeric column or one level of a categorical."""

    column: str
    level: int | None = None


def _check_tabular_options(spec: DatasetSpec) -> None:
    check_options(spec, TABULAR_OPTIONS)
    sep = spec.options.get("sep", ",")
    na_values = spec.options.get("na_values", [])
    if not (isinstance(sep, str) and len(sep) == 1 and sep not in "\r\n\"") or not (
            isinstance(na_values, list) and all(isinstance(v, str) for v in na_values)):
        raise InvalidDataset(f"{spec.display}/metadata.json: option 'sep' must be one character "
                             "and 'na_values' a list of strings")


def _load_tables(specs: list[DatasetSpec], action: str, labels_optional: bool
                 ) -> tuple[ColumnTable, int, str]:
    """The meta's rows, the number of files read and the name of its row-id column."""
    tables: list[ColumnTable] = []
    files: list[tuple[DatasetSpec, Path]] = []
    for spec in specs:
        _check_tabular_options(spec)
        schema = read_schema(spec)
        paths = files_with_suffix(spec, ".csv")
        if not paths:
            raise InvalidDataset(f"{spec.display} holds no CSV file")
        tables.extend(read_tabular_csv(spec, path, schema, action, labels_optional)
                      for path in paths)
        files.extend((spec, path) for path in paths)
    id_names = sorted({spec.id_column or ROW_NUMBER for spec in specs})
    if len(tables) > 1:  # row numbers repeat across files: the file tells them apart
        for table, (spec, path) in zip(tables, files, strict=True):
            if spec.id_column is None:
                table.ids = [f"{spec.describe_file(path)}:{row}" for row in table.ids]
    shown = ", ".join(spec.display for spec in specs)
    return concat_tables(tables, shown), len(tables), "/".join(id_names)


def _drop_rows_without_target(table: ColumnTable) -> tuple[ColumnTable, int]:
    missing = table.required_target().missing()
    n_missing = int(missing.sum())
    return (table.take(~missing), n_missing) if n_missing else (table, 0)


def _plan_columns(table: ColumnTable, shown: str) -> tuple[dict[str, _Source], list[str]]:
    """Name every output column: numeric columns keep their names, categories become
    `<col>_<level>` (all levels kept)."""
    sources: dict[str, _Source] = {name: _Source(name) for name in table.numeric}
    one_hot: list[str] = []
    for name, column in table.categorical.items():
        for code, level in enumerate(column.levels):
            output = f"{name}_{level}"
            if output in sources:
                raise InvalidDataset(f"{shown}: one-hot column {output!r} collides with another "
                                     "column of the same name; rename one of them")
            sources[output] = _Source(name, code)
            one_hot.append(output)
    return sources, sorted(one_hot)


def _fill_matrix(table: ColumnTable, columns: list[str], sources: dict[str, _Source],
                 fills: dict[str, np.float32], matrix: np.ndarray) -> None:
    """Write the sorted output columns into `matrix` (C-ordered float32, all zeros), imputing
    missing values with the column median (numbers) or the most frequent level (categories).

    Row blocks are filled on a few threads; within a block, numeric chunks are gathered
    contiguously, imputed, then written with one transposed copy (cache friendly)."""
    n_rows = table.n_rows
    numeric_names = [name for name in columns if sources[name].level is None]
    position = {name: index for index, name in enumerate(columns)}
    numeric_index = np.array([position[name] for name in numeric_names], dtype=np.int64)
    numeric = [(table.numeric[name], fills[name]) for name in numeric_names]
    lookups: list[tuple[np.ndarray, np.ndarray]] = []
    for name, column in table.categorical.items():
        lookup = np.array([position[f"{name}_{level}"] for level in column.levels],
                          dtype=np.int64)
        codes = column.codes
        if (codes < 0).any():  # most frequent level
            codes = np.where(codes < 0, np.argmax(column.counts()), codes).astype(codes.dtype)
        lookups.append((codes, lookup))

    def fill_rows(bounds: tuple[int, int]) -> None:
        staging = np.empty((len(numeric), BLOCK_ROWS), dtype=np.float32)
        for start in range(bounds[0], bounds[1], BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, bounds[1])
            block = matrix[start:stop]
            if numeric:
                staged = staging[:, :stop - start]
                for k, (values, fill) in enumerate(numeric):
                    row = staged[k]
                    np.copyto(row, values[start:stop])
                    bad = ~np.isfinite(row)
                    if bad.any():
                        row[bad] = fill
                block[:, numeric_index] = staged.T
            rows = np.arange(stop - start)
            for codes, lookup in lookups:
                block[rows, lookup[codes[start:stop]]] = 1.0

    n_blocks = -(-n_rows // BLOCK_ROWS)
    per_thread = -(-n_blocks // thread_count()) * BLOCK_ROWS
    map_threads(fill_rows, [(start, min(start + per_thread, n_rows))
                            for start in range(0, n_rows, per_thread)])


def build_tabular(table: ColumnTable, shown: str, allocate: Allocator = zeros_matrix
                  ) -> tuple[np.ndarray, list[str], list[str], dict[str, Any], dict[str, Any]]:
    """Impute, one-hot encode and sort a table:
    `(X, columns, one_hot_columns, features, summary)`.

    Columns with no value at all are dropped; `features` holds describe-style statistics and
    `summary` the per-column sums for global scaling. `allocate` makes the zeroed matrix.
    """
    features: dict[str, Any] = {
        "cat_variables": {}, "num_variables": {},
        "misc_variables": {name: {"datatype": dtype} for name, dtype in sorted(table.misc.items())},
    }
    fills: dict[str, np.float32] = {}
    summary: dict[str, Any] = {}
    dropped: list[str] = []
    numeric_names = sorted(table.numeric)
    profiles = map_threads(
        lambda name: profile_numeric(table.numeric[name], table.dtypes.get(name, "float32")),
        numeric_names)
    for name, profile in zip(numeric_names, profiles, strict=True):
        if profile is None:
            dropped.append(name)
            continue
        features["num_variables"][name] = profile.described
        fills[name] = profile.fill
        summary[name] = profile.summary
    for name in sorted(table.categorical):
        column = table.categorical[name]
        counts = column.counts()
        if counts.sum() == 0:
            dropped.append(name)
            continue
        if (counts == 0).any():
            column = table.categorical[name] = column.pruned()
            counts = column.counts()
        features["cat_variables"][name] = describe_categorical(
            column.levels, counts, table.dtypes.get(name, "category"))
        counts[np.argmax(counts)] += table.n_rows - counts.sum()  # imputed with the mode
        for level, count in zip(column.levels, counts, strict=True):
            summary[f"{name}_{level}"] = one_hot_summary(int(count), table.n_rows)
    for name in dropped:
        table.numeric.pop(name, None)
        table.categorical.pop(name, None)
    sources, one_hot = _plan_columns(table, shown)
    columns = sorted(sources)
    matrix = allocate((table.n_rows, len(columns)))
    _fill_matrix(table, columns, sources, fills, matrix)
    features["dropped_columns"] = sorted(dropped)
    return matrix, columns, one_hot, features, {name: summary[name] for name in columns}


def load_tabular_meta(specs: list[DatasetSpec], action: str,
                      allocate: Allocator = zeros_matrix,
                      labels_optional: bool = False) -> MetaFeatures:
    """Run the tabular pipeline over every dataset folder of one meta (rows appended, columns
    outer-joined, then imputed on the union). With `labels_optional` (prediction data) rows
    without a target are kept."""
    shown = ", ".join(spec.display for spec in specs)
    table, n_files, id_name = _load_tables(specs, action, labels_optional)
    if labels_optional:
        n_without_target = int(table.required_target().missing().sum())
    else:
        table, n_without_target = _drop_rows_without_target(table)
    if table.n_rows == 0:
        raise InvalidDataset(f"{shown}: no row" + ("" if labels_optional
                                                   else " with a target value"))
    matrix, columns, one_hot, features, summary = build_tabular(table, shown, allocate)
    kept = set(table.numeric) | set(table.categorical) | {TARGET}
    schema = {name: dtype for name, dtype in sorted(table.dtypes.items()) if name in kept}
    metadata: dict[str, Any] = {
        "src_count": n_files,
        "features": features,
        "rows_without_target": n_without_target,
        "coerced_values": dict(sorted(table.coerced.items())),
    }
    return MetaFeatures(X=matrix, columns=columns, target=table.required_target(), schema=schema,
                        metadata=metadata, categorical=one_hot, summary=summary,
                        rows=RowIds(id_name, table.ids) if labels_optional else None)
