"""Preprocessing a project's tags on a Worker: resolve, run the datatype pipeline per meta,
cache the arrays, and answer with headers, schema, metadata and summary statistics only."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from syncommon.metas import METAS
from synergos_worker.datasets.cache import (
    MatrixFile,
    fingerprint,
    preprocessing_dir,
    project_lock,
    read_arrays,
    read_entry,
    read_rows,
    write_entry,
)
from synergos_worker.datasets.errors import InvalidDataset, InvalidRequest, NotPrepared
from synergos_worker.datasets.features import MetaFeatures, RowIds
from synergos_worker.datasets.folder import DatasetSpec, read_spec
from synergos_worker.datasets.image import load_image_meta
from synergos_worker.datasets.stats import column_summary
from synergos_worker.datasets.tabular import load_tabular_meta
from synergos_worker.datasets.tags import discover_dataset_folders, resolve_in, validate_tag
from synergos_worker.datasets.targets import check_action, encode_target
from synergos_worker.datasets.text import load_text_meta

PIPELINES = {"tabular": load_tabular_meta, "image": load_image_meta, "text": load_text_meta}
PROJECT_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")


@dataclass
class PreparedMeta:
    """A meta's cached arrays: X float32 (N x F), y float32 (N x K one-hot or N x 1 values)."""

    X: np.ndarray
    x_columns: list[str]
    y: np.ndarray
    y_columns: list[str]
    datatype: str
    image_shape: list[int] | None
    answer: dict[str, Any]
    rows: RowIds | None = None


def check_project_id(project_id: object) -> str:
    """Return `project_id` if it is a plain name usable as a folder, else raise `InvalidRequest`."""
    if not isinstance(project_id, str) or not PROJECT_ID.fullmatch(project_id):
        raise InvalidRequest(f"project_id must be a plain name (letters, digits, '_', '-', '.'), "
                             f"got {project_id!r}")
    return project_id


def check_meta(meta: object) -> str:
    """Return `meta` if it is `train`, `evaluate` or `predict`, else raise `InvalidRequest`."""
    if meta not in METAS:
        raise InvalidRequest(f"meta must be one of {list(METAS)}, got {meta!r}")
    return str(meta)


def check_tags(tags: object) -> dict[str, list[list[str]]]:
    """Validate `{meta: [[token, ...], ...]}`; metas without tags are left out."""
    if not isinstance(tags, dict):
        raise InvalidRequest(f"tags must be an object {{meta: [[tokens]...]}}, got {tags!r}")
    checked: dict[str, list[list[str]]] = {}
    for meta, meta_tags in tags.items():
        check_meta(meta)
        if meta_tags is None:
            continue
        if not isinstance(meta_tags, list):
            raise InvalidRequest(f"tags[{meta!r}] must be a list of tags (lists of tokens)")
        if meta_tags:
            checked[meta] = [validate_tag(tag) for tag in meta_tags]
    return checked


def _resolve_specs(folders: list, root: Path, meta_tags: list[list[str]]) -> list[DatasetSpec]:
    specs: list[DatasetSpec] = []
    for tag in meta_tags:
        spec = read_spec(resolve_in(folders, tag), root)
        if all(spec.path != known.path for known in specs):  # the same folder counts once
            specs.append(spec)
    datatypes = sorted({spec.datatype for spec in specs})
    if len(datatypes) > 1:
        raise InvalidDataset("The tags of one meta must share a datatype; found "
                             + ", ".join(f"{s.display}: {s.datatype}" for s in specs))
    return specs


def _answer(features: MetaFeatures, y_columns: list[str], y: np.ndarray,
            target_meta: dict[str, Any], datatype: str, specs: list[DatasetSpec],
            meta_tags: list[list[str]]) -> dict[str, Any]:
    metadata = {
        "datatype": datatype, "n_rows": int(features.X.shape[0]),
        "n_features": int(features.X.shape[1]), "tags": meta_tags,
        "datasets": [spec.display for spec in specs], "target": target_meta,
        **features.metadata,
    }
    return {
        "headers": {"X": features.columns, "y": y_columns},
        "schema": features.schema,
        "metadata": metadata,
        "summary": (features.summary if features.summary is not None
                    else column_summary(features.X, features.columns)),
        "summary_y": column_summary(y, y_columns),
        "categorical": features.categorical,
        "image_shape": features.image_shape,
    }


def _prepare_meta(specs: list[DatasetSpec], action: str, meta_tags: list[list[str]],
                  meta_dir: Path, meta: str) -> dict[str, Any]:
    digest = fingerprint(specs, action, meta_tags)
    entry = read_entry(meta_dir)
    if entry is not None and entry.get("fingerprint") == digest:
        return entry["answer"]
    datatype = specs[0].datatype
    matrix_file = MatrixFile(meta_dir)
    try:
        features = PIPELINES[datatype](specs, action, matrix_file,
                                       labels_optional=meta == "predict")
        y, y_columns, target_meta = encode_target(features.target)
        answer = _answer(features, y_columns, y, target_meta, datatype, specs, meta_tags)
        rows = features.rows.to_json() if features.rows is not None else None
        write_entry(meta_dir, digest, features.X, y, {"answer": answer, "action": action},
                    matrix_file, rows)
    finally:
        matrix_file.discard()
    return answer


def preprocess_project(data_root: Path | str, outputs_dir: Path | str, project_id: str,
                       tags: dict[str, list[list[str]]], action: str) -> dict[str, Any]:
    """Preprocess (or reuse the cache for) every meta that has tags; return the JSON-able poll
    answer `{meta: {headers, schema, metadata, summary, summary_y, categorical, image_shape}}`.

    Raises a `DatasetError` subclass (with `.status`) on bad input or unusable data.
    """
    action = check_action(action)
    project_id = check_project_id(project_id)
    checked = check_tags(tags)
    root = Path(os.path.realpath(data_root))
    folders = discover_dataset_folders(root)
    plans = {meta: _resolve_specs(folders, root, meta_tags) for meta, meta_tags in checked.items()}
    answers: dict[str, Any] = {}
    with project_lock(Path(outputs_dir), project_id):
        base = preprocessing_dir(Path(outputs_dir), project_id)
        for meta in METAS:
            if meta in plans:
                answers[meta] = _prepare_meta(plans[meta], action, checked[meta], base / meta,
                                              meta)
    return answers


def load_prepared(outputs_dir: Path | str, project_id: str, meta: str) -> PreparedMeta:
    """Load one meta's cached arrays as written by `preprocess_project` (no unpickling).

    Raises `NotPrepared` (404) when the project/meta has not been preprocessed.
    """
    meta_dir = preprocessing_dir(Path(outputs_dir), check_project_id(project_id)) / check_meta(meta)
    for _attempt in range(3):  # a concurrent rewrite may replace the arrays between reads
        entry = read_entry(meta_dir)
        if entry is None:
            raise NotPrepared(f"Project {project_id!r} has no prepared {meta!r} data; poll first")
        try:
            x_matrix, y = read_arrays(meta_dir, entry)
            rows = read_rows(meta_dir, entry)
        except FileNotFoundError:
            continue
        answer = entry["answer"]
        return PreparedMeta(
            X=x_matrix, x_columns=answer["headers"]["X"], y=y, y_columns=answer["headers"]["y"],
            datatype=answer["metadata"]["datatype"], image_shape=answer["image_shape"],
            answer=answer, rows=RowIds.from_json(rows) if rows is not None else None,
        )
    raise NotPrepared(f"Project {project_id!r}: the {meta!r} cache kept changing while read")
