"""Durable file primitives: atomic replacement, fsync'ed appends and exclusive lock files.

An atomic write goes to a private temporary file beside its target (mode 0600), is fsync'ed,
renamed over the target and the directory is fsync'ed, so a reader sees the old or the new
content, never a mix, and a crash at any point loses neither. Locks are `flock`s, which the
kernel drops when their holder dies, so a crashed writer never blocks the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PRIVATE_MODE = 0o600
TEMPORARY_SUFFIX = ".tmp"


class LockHeldError(BlockingIOError):
    """A non-blocking lock is held by another process or object."""


def fsync_directory(directory: Path) -> None:
    """Flush a directory entry change (create, rename) to disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd` (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def sync_data(fd: int) -> None:
    """Flush a file's data (and the size change) to disk."""
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # pragma: no cover - macOS
        os.fsync(fd)


def append_durably(path: Path, data: bytes) -> None:
    """Append `data` to `path` (created private if missing) and flush it to disk before
    returning."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_MODE)
    try:
        write_all(fd, data)
        sync_data(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary stream whose content replaces `path` all at once when the block ends; an
    exception inside the block leaves `path` as it was and removes the temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)


def write_atomically(path: Path, data: bytes) -> None:
    """Make `path` hold exactly `data`, all or nothing."""
    with atomic_file(path) as stream:
        stream.write(data)


def stray_temporaries(path: Path) -> list[Path]:
    """Temporary files an interrupted `atomic_file(path)` left behind (only safe to remove
    while holding the lock that keeps other writers of `path` out)."""
    return sorted(path.parent.glob(f".{path.name}.*{TEMPORARY_SUFFIX}"))


@contextlib.contextmanager
def held_lock(lock_path: Path | str) -> Iterator[None]:
    """Wait for an exclusive lock on `lock_path` (created if missing) and hold it for the
    `with` block."""
    with open(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


class FileLock:
    """An exclusive, non-blocking lock on `<path>.lock` that guards `path`, held from
    `acquire()` until `release()`."""

    def __init__(self, path: Path) -> None:
        self.guarded_path = path
        self.path = path.with_name(path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise `LockHeldError` at once if someone else holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeldError(f"lock {self.path} is held by another process or object") \
                from None
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
