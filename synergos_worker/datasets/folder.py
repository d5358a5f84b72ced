"""A resolved dataset folder: its `metadata.json` (datatype, options) and its files, read safely."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synergos_worker.datasets.errors import InvalidDataset, UnsafeTag
from synergos_worker.datasets.tags import METADATA_FILE, DatasetFolder

DATATYPES = ("tabular", "image", "text")
MAX_JSON_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset folder declares: where it is, its datatype and its options."""

    folder: DatasetFolder
    root: Path
    datatype: str
    options: dict[str, Any] = field(default_factory=dict)
    id_column: str | None = None

    @property
    def path(self) -> Path:
        """The folder's real path."""
        return self.folder.path

    @property
    def display(self) -> str:
        """The folder's path relative to the data root, for messages."""
        return self.folder.display

    def describe_file(self, path: Path) -> str:
        """A file's path relative to the data root, for messages (never an absolute path)."""
        try:
            return str(Path(path).relative_to(self.root))
        except ValueError:
            return Path(path).name


def read_json_file(path: Path, shown_as: str) -> Any:
    """Parse a small JSON file, raising `InvalidDataset` naming `shown_as` when it is unusable."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise InvalidDataset(f"{shown_as} is larger than {MAX_JSON_BYTES} bytes")
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as error:
        raise InvalidDataset(f"{shown_as} is missing") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidDataset(f"{shown_as} is not valid JSON: {error}") from error


def read_spec(folder: DatasetFolder, root: Path) -> DatasetSpec:
    """Read and validate a dataset folder's `metadata.json`."""
    shown = f"{folder.display}/{METADATA_FILE}"
    document = read_json_file(folder.path / METADATA_FILE, shown)
    if not isinstance(document, dict):
        raise InvalidDataset(f"{shown} must hold a JSON object")
    datatype = document.get("datatype")
    if datatype not in DATATYPES:
        raise InvalidDataset(
            f"{shown}: 'datatype' must be one of {list(DATATYPES)}, got {datatype!r}")
    options = document.get("options", document.get("operations", {}))
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise InvalidDataset(f"{shown}: 'options' must be a JSON object")
    id_column = document.get("id_column")
    if id_column is not None and (datatype == "image" or not isinstance(id_column, str)
                                  or not id_column or id_column in ("target", "text")):
        raise InvalidDataset(f"{shown}: 'id_column' must name a column other than 'target' "
                             "and 'text' (tabular and text datasets; an image's id is its "
                             f"file name), got {id_column!r}")
    return DatasetSpec(folder=folder, root=root, datatype=datatype, options=dict(options),
                       id_column=id_column)


def check_options(spec: DatasetSpec, allowed: set[str]) -> None:
    """Raise `InvalidDataset` if the metadata names an option this datatype does not know."""
    unknown = sorted(set(spec.options) - allowed)
    if unknown:
        raise InvalidDataset(
            f"{spec.display}/{METADATA_FILE}: unknown {spec.datatype} option(s) {unknown}; "
            f"known: {sorted(allowed)}"
        )


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def checked_path(spec: DatasetSpec, path: Path) -> Path:
    """Return `path`'s real path, raising `UnsafeTag` if it leads outside the data root."""
    real = os.path.realpath(path)
    if not _within(real, os.path.realpath(spec.root)):
        raise UnsafeTag(f"{spec.describe_file(Path(path))} leads outside the data root")
    return Path(real)


def dataset_files(spec: DatasetSpec) -> list[Path]:
    """Every regular file of the folder, recursively and sorted, except hidden entries and
    sub-folders that are datasets of their own (they hold a `metadata.json`).

    A sub-folder that is a symlink leading outside the data root raises `UnsafeTag`.
    """
    files: list[Path] = []
    base = spec.path
    root = os.path.realpath(spec.root)
    for dirpath, dirnames, filenames in os.walk(base, followlinks=True):
        current = Path(dirpath)
        here = os.path.realpath(dirpath)
        kept = []
        for name in sorted(dirnames):
            if name.startswith(".") or (current / name / METADATA_FILE).exists():
                continue
            real = os.path.realpath(current / name)
            if not _within(real, root):
                raise UnsafeTag(f"{spec.describe_file(current / name)} leads outside the data root")
            if not _within(here, real):  # skip links back to an ancestor (cycles)
                kept.append(name)
        dirnames[:] = kept
        files.extend(current / name for name in sorted(filenames) if not name.startswith("."))
    return sorted(files, key=lambda path: path.relative_to(base).parts)


def files_with_suffix(spec: DatasetSpec, suffix: str) -> list[Path]:
    """The folder's files ending with `suffix` (case-insensitive), each checked to stay in root."""
    return [
        checked_path(spec, path) for path in dataset_files(spec)
        if path.name.lower().endswith(suffix)
    ]
