"""syncommon.files: atomic replacement keeps the old content on failure, the locks exclude each
other, and syncommon imports no other Synergos package (every package may import it)."""

from __future__ import annotations

import ast
import stat
from pathlib import Path

import pytest

from syncommon.files import (
    FileLock,
    LockHeldError,
    append_durably,
    atomic_file,
    stray_temporaries,
    write_atomically,
)

PACKAGE = Path(__file__).resolve().parents[2] / "syncommon"
SYNERGOS_PACKAGES = ("synergos", "synalgo", "synarchive", "synrest", "synlogger", "synmanager",
                     "synergos_ttp", "synergos_worker", "synergos_director", "synergos_testing")


def test_an_atomic_write_replaces_the_file_privately(tmp_path: Path) -> None:
    target = tmp_path / "folder" / "state.json"
    write_atomically(target, b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stray_temporaries(target) == []


def test_a_failed_write_leaves_the_old_content_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_atomically(target, b"old")
    with pytest.raises(RuntimeError, match="half-way"), atomic_file(target) as stream:
        stream.write(b"partial")
        raise RuntimeError("half-way")
    assert target.read_bytes() == b"old"
    assert stray_temporaries(target) == []


def test_a_second_lock_on_the_same_file_is_refused_until_released(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "archive.json"), FileLock(tmp_path / "archive.json")
    first.acquire()
    with pytest.raises(LockHeldError, match=r"archive\.json\.lock"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()


def test_syncommon_imports_no_other_synergos_package() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [])
            for name in names:
                assert name.split(".")[0] not in SYNERGOS_PACKAGES, f"{path.name}: {name}"


def test_durable_appends_add_lines_to_a_private_file(tmp_path: Path) -> None:
    target = tmp_path / "rounds.jsonl"
    append_durably(target, b"one\n")
    append_durably(target, b"two\n")
    assert target.read_bytes() == b"one\ntwo\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
