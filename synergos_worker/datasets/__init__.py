"""The Worker's data layer: tag resolution, preprocessing per datatype, cached prepared arrays.

A library (no HTTP): the REST routes call `preprocess_project` and `load_prepared`, and turn the
`DatasetError` subclasses (each with `.status`) into error envelopes.
"""

from __future__ import annotations

from synergos_worker.datasets.errors import (
    DatasetError,
    InvalidDataset,
    InvalidRequest,
    NotPrepared,
    TagAmbiguous,
    TagNotFound,
    UnsafeTag,
)
from synergos_worker.datasets.image import pixel_column
from synergos_worker.datasets.project import (
    PreparedMeta,
    load_prepared,
    preprocess_project,
)
from synergos_worker.datasets.tags import resolve_tag

__all__ = [
    "DatasetError",
    "InvalidDataset",
    "InvalidRequest",
    "NotPrepared",
    "PreparedMeta",
    "TagAmbiguous",
    "TagNotFound",
    "UnsafeTag",
    "load_prepared",
    "pixel_column",
    "preprocess_project",
    "resolve_tag",
]
