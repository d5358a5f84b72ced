"""Tag resolution: a tag (list of tokens) names the dataset folder whose path contains them all.

A dataset folder is any folder under the data root holding a `metadata.json`. Discovery walks
the root in sorted order, skips hidden folders, follows symlinks only while they stay inside the
root, and a tag must match exactly one folder (zero -> 404, several -> 409).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from synergos_worker.datasets.errors import TagAmbiguous, TagNotFound, UnsafeTag
from synrest.names import TAG_TOKEN_RULE, tag_token_problem

METADATA_FILE = "metadata.json"
MAX_TOKENS = 32
MAX_DEPTH = 32


@dataclass(frozen=True)
class DatasetFolder:
    """A folder holding a `metadata.json`: its path relative to the data root, and its real path."""

    relative: tuple[str, ...]
    path: Path
    inside_root: bool

    @property
    def display(self) -> str:
        """The relative path as shown in messages (`a/b/c`)."""
        return "/".join(self.relative) or "."


def validate_tag(tag: object) -> list[str]:
    """Return the tag as a list of tokens; raise `UnsafeTag` unless every token is a plain name."""
    if not isinstance(tag, (list, tuple)) or not tag:
        raise UnsafeTag(f"A tag must be a non-empty list of tokens, got {tag!r}")
    if len(tag) > MAX_TOKENS:
        raise UnsafeTag(f"A tag may hold at most {MAX_TOKENS} tokens, got {len(tag)}")
    tokens: list[str] = []
    for token in tag:
        if tag_token_problem(token) is not None:
            raise UnsafeTag(f"Tag token {token!r} is not {TAG_TOKEN_RULE}")
        tokens.append(token)
    return tokens


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def discover_dataset_folders(data_root: Path) -> list[DatasetFolder]:
    """List every folder under `data_root` holding a `metadata.json`, sorted by relative path.

    Symlinked folders or files that lead outside the root are listed with `inside_root=False`
    (and never descended into), so callers can refuse them explicitly.
    """
    root = os.path.realpath(data_root)
    if not os.path.isdir(root):
        raise TagNotFound(f"The data root {data_root} does not exist or is not a folder")
    found: list[DatasetFolder] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        relative = Path(os.path.relpath(dirpath, root)).parts
        relative = () if relative == (".",) else tuple(relative)
        if METADATA_FILE in filenames:
            real_file = os.path.realpath(os.path.join(dirpath, METADATA_FILE))
            real_dir = os.path.realpath(dirpath)
            inside = _is_within(real_file, root) and _is_within(real_dir, root)
            found.append(DatasetFolder(relative, Path(real_dir), inside))
        here = os.path.realpath(dirpath)
        kept = []
        for name in sorted(dirnames):
            if name.startswith(".") or len(relative) >= MAX_DEPTH:
                continue
            full = os.path.join(dirpath, name)
            real = os.path.realpath(full)
            if not _is_within(real, root):
                if os.path.isfile(os.path.join(full, METADATA_FILE)):
                    found.append(DatasetFolder((*relative, name), Path(real), False))
                continue
            if _is_within(here, real):  # a link back to an ancestor: a cycle
                continue
            kept.append(name)
        dirnames[:] = kept
    return sorted(found, key=lambda folder: folder.relative)


def match_tag(folders: Sequence[DatasetFolder], tokens: Sequence[str]) -> list[DatasetFolder]:
    """Return the folders whose relative path components contain every token (unordered)."""
    wanted = set(tokens)
    return [folder for folder in folders if wanted.issubset(folder.relative)]


def resolve_in(folders: Sequence[DatasetFolder], tag: object) -> DatasetFolder:
    """Resolve a tag against an already discovered folder list (see `resolve_tag`)."""
    tokens = validate_tag(tag)
    matches = match_tag(folders, tokens)
    escaping = [folder for folder in matches if not folder.inside_root]
    if escaping:
        raise UnsafeTag(
            f"Tag {tokens} leads outside the data root through a symlink: "
            + ", ".join(folder.display for folder in escaping)
        )
    if not matches:
        raise TagNotFound(f"No dataset folder (with a {METADATA_FILE}) matches tag {tokens}")
    if len(matches) > 1:
        raise TagAmbiguous(
            f"Tag {tokens} matches {len(matches)} dataset folders: "
            + ", ".join(folder.display for folder in matches)
            + "; add a token that tells them apart"
        )
    return matches[0]


def resolve_tag(data_root: Path, tag: list[str]) -> Path:
    """Return the real path of the unique dataset folder under `data_root` matching `tag`.

    Raises `UnsafeTag` (400), `TagNotFound` (404) or `TagAmbiguous` (409).
    """
    tokens = validate_tag(tag)
    return resolve_in(discover_dataset_folders(Path(data_root)), tokens).path
