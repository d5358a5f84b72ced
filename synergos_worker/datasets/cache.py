"""Per-project cache of prepared arrays: fingerprinted by the source files' sizes and mtimes,
written atomically (arrays first, then the JSON that names them), guarded by a file lock."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from syncommon.files import atomic_file, held_lock, write_atomically
from synergos_worker.datasets.folder import DatasetSpec, dataset_files

CACHE_VERSION = 2
PREPARED_FILE = "prepared.json"


def preprocessing_dir(outputs_dir: Path, project_id: str) -> Path:
    """Folder holding a project's preprocessing cache."""
    return Path(outputs_dir) / project_id / "preprocessing"


def fingerprint(specs: list[DatasetSpec], action: str, tags: list[list[str]]) -> str:
    """Digest of everything the prepared arrays depend on: pipeline version, action, tags and,
    per dataset folder, every file's relative path, size and modification time."""
    state: dict[str, Any] = {"version": CACHE_VERSION, "action": action, "tags": tags,
                             "datasets": []}
    for spec in specs:
        files = []
        for path in dataset_files(spec):
            stat = path.stat()
            files.append([str(path.relative_to(spec.path)), stat.st_size, stat.st_mtime_ns])
        state["datasets"].append({"path": str(spec.path), "files": files})
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


@contextlib.contextmanager
def project_lock(outputs_dir: Path, project_id: str) -> Iterator[None]:
    """Hold an exclusive lock on the project's cache while preprocessing it."""
    folder = preprocessing_dir(outputs_dir, project_id)
    folder.mkdir(parents=True, exist_ok=True)
    with held_lock(folder / ".lock"):
        yield


class MatrixFile:
    """An `Allocator` that places the feature matrix in a memory-mapped `.npy` file inside the
    cache folder, so the pipeline fills the cache directly (no second copy, no separate write)."""

    def __init__(self, meta_dir: Path) -> None:
        self.meta_dir = meta_dir
        self.path: Path | None = None
        self.array: np.ndarray | None = None

    def __call__(self, shape: tuple[int, int]) -> np.ndarray:
        if shape[0] * shape[1] == 0:  # an empty file cannot be memory-mapped
            return np.zeros(shape, dtype=np.float32)
        self.meta_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self.meta_dir, prefix=".X-", suffix=".npy")
        os.close(handle)
        self.path = Path(name)
        self.array = np.lib.format.open_memmap(name, mode="w+", dtype=np.float32, shape=shape)
        return self.array

    def owns(self, matrix: np.ndarray) -> bool:
        """Whether `matrix` is the memory-mapped file this allocator made."""
        return self.array is not None and matrix is self.array

    def discard(self) -> None:
        """Remove the temporary file (after a failure, or once it has been renamed)."""
        self.array = None
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def read_entry(meta_dir: Path) -> dict[str, Any] | None:
    """The cached entry of one meta (its JSON document), or None when there is none."""
    try:
        with open(meta_dir / PREPARED_FILE, encoding="utf-8") as handle:
            entry = json.load(handle)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return entry if isinstance(entry, dict) and entry.get("version") == CACHE_VERSION else None


def write_entry(meta_dir: Path, digest: str, x_matrix: np.ndarray, y: np.ndarray,
                document: dict[str, Any], matrix_file: MatrixFile | None = None,
                rows: dict[str, Any] | None = None) -> None:
    """Store the arrays, the row ids (`rows`, a JSON document) and the JSON document of one
    meta, replacing the previous entry (`x_matrix` may be the memory-mapped file of
    `matrix_file`: it is then renamed in place)."""
    meta_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"X": f"X-{digest[:16]}.npy", "y": f"y-{digest[:16]}.npy"}
    rows_file = f"rows-{digest[:16]}.json"
    if rows is not None:
        write_atomically(meta_dir / rows_file, json.dumps(rows).encode())
    if matrix_file is not None and matrix_file.path is not None \
            and isinstance(x_matrix, np.memmap) and matrix_file.owns(x_matrix):
        x_matrix.flush()
        os.replace(matrix_file.path, meta_dir / arrays["X"])
    else:
        with atomic_file(meta_dir / arrays["X"]) as stream:
            np.save(stream, x_matrix, allow_pickle=False)
    with atomic_file(meta_dir / arrays["y"]) as stream:
        np.save(stream, y, allow_pickle=False)
    entry = {**document, "version": CACHE_VERSION, "fingerprint": digest, "arrays": arrays,
             "rows": rows_file if rows is not None else None}
    write_atomically(meta_dir / PREPARED_FILE, json.dumps(entry, allow_nan=False).encode())
    for stale in [*meta_dir.glob("*.npy"), *meta_dir.glob("rows-*.json")]:
        if stale.name not in (*arrays.values(), entry["rows"]):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()


def read_arrays(meta_dir: Path, entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Load the arrays an entry names (never unpickling anything)."""
    arrays = entry["arrays"]
    x_matrix = np.load(meta_dir / arrays["X"], allow_pickle=False)
    y = np.load(meta_dir / arrays["y"], allow_pickle=False)
    return x_matrix, y


def read_rows(meta_dir: Path, entry: dict[str, Any]) -> dict[str, Any] | None:
    """The row-id document an entry names, or None when it names none."""
    if not entry.get("rows"):
        return None
    with open(meta_dir / entry["rows"], encoding="utf-8") as handle:
        return json.load(handle)
