"""Reading tabular CSVs with their `schema.json` into typed columns (float32 or categorical)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergos_worker.datasets.categorical import CategoricalColumn, concat_categorical
from synergos_worker.datasets.errors import InvalidDataset
from synergos_worker.datasets.folder import DatasetSpec, read_json_file
from synergos_worker.datasets.parallel import map_threads
from synergos_worker.datasets.targets import (
    TARGET,
    Target,
    concat_targets,
    target_from_values,
    unlabeled_target,
)

SCHEMA_FILE = "schema.json"
CATEGORICAL_DTYPES = {"category", "object", "str", "string", "bool", "boolean"}


def column_kind(dtype_name: str) -> str:
    """Classify a schema dtype name as `numeric`, `categorical` or `misc` (dates: dropped)."""
    name = dtype_name.strip()
    if name.lower() in CATEGORICAL_DTYPES:
        return "categorical"
    dtype = pd.api.types.pandas_dtype(name)
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "misc"
    raise TypeError(f"unsupported dtype {dtype_name!r}")


def read_schema(spec: DatasetSpec) -> dict[str, str]:
    """Read the folder's `schema.json` (column -> pandas dtype name), checking every dtype."""
    shown = f"{spec.display}/{SCHEMA_FILE}"
    schema = read_json_file(spec.path / SCHEMA_FILE, shown)
    if not isinstance(schema, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in schema.items()
    ):
        raise InvalidDataset(f"{shown} must map column names to dtype names (strings)")
    for column, dtype_name in schema.items():
        try:
            column_kind(dtype_name)
        except TypeError as error:
            raise InvalidDataset(f"{shown}: column {column!r} has an unknown dtype "
                                 f"{dtype_name!r} ({error})") from error
    return schema


@dataclass
class ColumnTable:
    """Typed columns of some rows: float32 numeric arrays, categorical columns and the target."""

    n_rows: int
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    categorical: dict[str, CategoricalColumn] = field(default_factory=dict)
    target: Target | None = None
    dtypes: dict[str, str] = field(default_factory=dict)
    coerced: dict[str, int] = field(default_factory=dict)
    misc: dict[str, str] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)


    def required_target(self) -> Target:
        """The target column (every table read for a dataset has one)."""
        assert self.target is not None, "a dataset's table has a target"
        return self.target

    def take(self, rows: np.ndarray) -> ColumnTable:
        """The table restricted to `rows` (index array or boolean mask)."""
        n_rows = int(rows.sum()) if rows.dtype == bool else len(rows)
        return ColumnTable(
            n_rows, {k: v[rows] for k, v in self.numeric.items()},
            {k: v.take(rows) for k, v in self.categorical.items()},
            self.target.take(rows) if self.target is not None else None,
            dict(self.dtypes), dict(self.coerced), dict(self.misc),
            np.asarray(self.ids, dtype=object)[rows].tolist() if self.ids else [],
        )


def _read_header(path: Path, shown: str, sep: str) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle, delimiter=sep), None)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InvalidDataset(f"{shown} cannot be read as a UTF-8 CSV: {error}") from error
    if not header:
        raise InvalidDataset(f"{shown} is empty (no header row)")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise InvalidDataset(f"{shown} has duplicate column names {duplicates}")
    return header


def _read_frame(path: Path, shown: str, options: dict[str, Any], columns: list[str] | None,
                dtypes: dict[str, Any], numeric: dict[str, Any]
                ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read the CSV with `dtypes` (float32 for the `numeric` columns); numbers that fail to
    parse are coerced to NaN and counted (the second pass only runs when the fast typed read
    fails)."""
    kwargs = {"sep": options.get("sep", ","), "usecols": columns, "encoding": "utf-8",
              "na_values": options.get("na_values")}
    try:
        return pd.read_csv(path, dtype=dtypes, **kwargs), {}
    except pd.errors.ParserError as error:
        raise InvalidDataset(f"{shown} is not a well-formed CSV: {error}") from error
    except UnicodeDecodeError as error:
        raise InvalidDataset(f"{shown} is not UTF-8 text: {error}") from error
    except ValueError:
        pass  # a numeric column holds text: read those as text and coerce below
    numeric_names = list(numeric)
    loose = {**dtypes, **dict.fromkeys(numeric_names, object)}
    try:
        frame = pd.read_csv(path, dtype=loose, **kwargs)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidDataset(f"{shown} cannot be parsed: {error}") from error
    coerced: dict[str, int] = {}
    for name in numeric_names:
        converted = pd.to_numeric(frame[name], errors="coerce").astype(np.float32)
        present = int(frame[name].notna().sum())
        bad = int(present - converted.notna().sum())
        if bad and bad == present and name != TARGET:
            example = frame[name].dropna().iloc[0]
            raise InvalidDataset(f"{shown}: column {name!r} is declared numeric but holds only "
                                 f"text (e.g. {example!r}); declare it 'category' in the schema")
        if bad:
            coerced[name] = bad
        frame[name] = converted
    return frame, coerced


def read_tabular_csv(spec: DatasetSpec, path: Path, schema: dict[str, str], action: str,
                     labels_optional: bool = False) -> ColumnTable:
    """Read one CSV of a tabular folder into a `ColumnTable` typed by `schema`.

    Raises `InvalidDataset` naming the file when it has no `target` column (allowed with
    `labels_optional`: prediction data), lacks its `id_column`, has a column the schema does
    not declare, or cannot be parsed. Row ids (prediction data only): the `id_column`'s
    values, else row numbers.
    """
    shown = spec.describe_file(path)
    options = spec.options
    header = _read_header(path, shown, options.get("sep", ","))
    has_target = TARGET in header
    if not has_target and not labels_optional:
        raise InvalidDataset(f"{shown} has no '{TARGET}' column (columns: {header[:20]})")
    id_column = spec.id_column
    if id_column is not None and id_column not in header:
        raise InvalidDataset(f"{shown} has no id column {id_column!r} (named by "
                             f"{spec.display}/metadata.json; columns: {header[:20]})")
    features = [name for name in header if name not in (TARGET, id_column)]
    undeclared = [name for name in features if name not in schema]
    if undeclared:
        raise InvalidDataset(f"{shown}: column(s) {undeclared} are not declared in "
                             f"{spec.display}/{SCHEMA_FILE}")
    kinds = {name: column_kind(schema[name]) for name in features}
    # Numbers are parsed straight to float32; categories are read as pandas infers them (the
    # fastest path) and factorised afterwards, with levels normalised ("1.0" -> "1").
    numeric: dict[str, Any] = {name: np.float32 for name, kind in kinds.items()
                               if kind == "numeric"}
    dtypes: dict[str, Any] = dict(numeric)
    if action == "regress" and has_target:
        numeric[TARGET] = dtypes[TARGET] = np.float32
    if id_column is not None:
        dtypes[id_column] = str
    used = [name for name in header if name in (TARGET, id_column) or kinds[name] != "misc"]
    frame, coerced = _read_frame(path, shown, options,
                                 used if len(used) < len(header) else None, dtypes, numeric)
    if TARGET in coerced:
        raise InvalidDataset(f"{shown}: {coerced[TARGET]} target value(s) are not numbers "
                             "(action 'regress')")
    table = ColumnTable(n_rows=len(frame), coerced=coerced,
                        dtypes={name: schema[name] for name in used if name in kinds},
                        misc={name: schema[name] for name, kind in kinds.items() if kind == "misc"})
    if labels_optional:  # only prediction data needs row ids (they cost memory per row)
        table.ids = (frame[id_column].fillna("").astype(str).tolist() if id_column is not None
                     else [str(index) for index in range(len(frame))])
    for name in used:
        if name in kinds and kinds[name] == "numeric":
            table.numeric[name] = frame[name].to_numpy(dtype=np.float32)
    categorical = [name for name in used if name in kinds and kinds[name] == "categorical"]
    factorised = map_threads(lambda name: CategoricalColumn.from_series(frame[name]), categorical)
    table.categorical.update(zip(categorical, factorised, strict=True))
    if not has_target:
        table.target = unlabeled_target(len(frame), action)
    elif action == "classify":
        table.target = Target(labels=CategoricalColumn.from_series(frame[TARGET]))
    else:
        table.target = target_from_values(frame[TARGET], action, shown)
    table.dtypes[TARGET] = schema.get(TARGET, "category" if action == "classify" else "float32")
    return table


def concat_tables(tables: list[ColumnTable], shown: str) -> ColumnTable:
    """Append tables row-wise, outer-joining columns (absent columns become missing values).

    A column that is numeric in one table and categorical in another raises `InvalidDataset`.
    """
    if len(tables) == 1:
        return tables[0]
    numeric_names = sorted({name for table in tables for name in table.numeric})
    categorical_names = sorted({name for table in tables for name in table.categorical})
    clash = sorted(set(numeric_names) & set(categorical_names))
    if clash:
        raise InvalidDataset(f"{shown}: column(s) {clash} are numeric in one schema and "
                             "categorical in another")
    merged = ColumnTable(n_rows=sum(table.n_rows for table in tables))
    for name in numeric_names:
        merged.numeric[name] = np.concatenate([
            table.numeric.get(name, np.full(table.n_rows, np.nan, dtype=np.float32))
            for table in tables
        ])
    for name in categorical_names:
        merged.categorical[name] = concat_categorical([
            table.categorical.get(name, table.n_rows) for table in tables
        ])
    merged.target = concat_targets([table.required_target() for table in tables])
    merged.ids = [row_id for table in tables for row_id in table.ids]
    for table in tables:
        merged.dtypes.update({k: v for k, v in table.dtypes.items() if k not in merged.dtypes})
        merged.misc.update(table.misc)
        for name, count in table.coerced.items():
            merged.coerced[name] = merged.coerced.get(name, 0) + count
    return merged
