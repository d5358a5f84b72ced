"""Durable file primitives: an exclusive lock file, atomic replacement and fsync'ed appends."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synarchive.errors import ArchiveLockedError

FILE_MODE = 0o600  # the archive holds Worker tokens: owner-only


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


def replace_atomically(path: Path, data: bytes) -> None:
    """Make `path` hold exactly `data`, all or nothing, surviving a crash at any point.

    Writes a temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs the
    directory, so a reader sees either the old or the new content, never a mix.
    """
    temporary = temporary_path(path)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    fsync_directory(path.parent)


def temporary_path(path: Path) -> Path:
    """The scratch file used while replacing `path`."""
    return path.with_name(path.name + ".tmp")


@contextmanager
def held_lock(lock_path: Path | str) -> Iterator[None]:
    """Wait for an exclusive `flock` on `lock_path` (created if missing) and hold it for the
    `with` block; the kernel drops it if the holder dies."""
    with open(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


class FileLock:
    """An exclusive, non-blocking `flock` on `<path>.lock`, held until `release()`.

    The kernel drops the lock when the holder dies, so a crashed writer never blocks the
    next one.
    """

    def __init__(self, path: Path) -> None:
        self.archive_path = path
        self.path = path.with_name(path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise `ArchiveLockedError` at once if someone else holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ArchiveLockedError(
                f"archive {self.archive_path} is already open for writing "
                f"(lock {self.path} is held by another process or Archive object); "
                "only one writer may open an archive file"
            ) from None
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
