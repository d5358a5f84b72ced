"""JournalStorage: the archive's tables held in memory and persisted as an fsync'ed journal.

Every commit appends one JSON line (the change set) and fsyncs it before returning, so an
acknowledged write survives a crash; a torn last line is ignored on load. Every
`compact_every` commits (and on open and close) the journal is rewritten atomically as a single
snapshot line (temporary file, fsync, rename, fsync of the directory).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synarchive.errors import ArchiveClosedError, ArchiveLockedError, ArchiveWriteError
from synarchive.journal_format import (
    Change,
    Tables,
    apply_change,
    encode_changes,
    encode_snapshot,
    read_journal,
)
from syncommon.files import (
    FileLock,
    LockHeldError,
    stray_temporaries,
    sync_data,
    write_all,
    write_atomically,
)

DEFAULT_COMPACT_EVERY = 1000
_MISSING = object()
_log = logging.getLogger(__name__)


class JournalStorage:
    """Tables over an append-only journal file; one writer process per file.

    `synarchive.tinydb_table.JournaledTable` reads with `live_table()` and writes with
    `apply_changes()`, so a write costs O(changes), not a rewrite of the database.
    """

    def __init__(
        self, path: str | Path, compact_every: int = DEFAULT_COMPACT_EVERY, fsync: bool = True
    ) -> None:
        if not isinstance(compact_every, int) or compact_every < 0:
            raise ValueError("compact_every must be an int >= 0 (0 = only on open and close)")
        self.path = Path(path).absolute()
        self.compact_every = compact_every
        self.lock = threading.RLock()
        self._fsync = fsync
        self._tables: Tables = {}
        self._pending: list[Change] | None = None
        self._undo: list[tuple[str, str | None, Any]] | None = None
        self._journal_lines = 0
        self._size = 0
        self._fd: int | None = None
        self.rollbacks = 0  # how many times a batch undid in-memory changes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file_lock = FileLock(self.path)
        try:
            self._file_lock.acquire()
        except LockHeldError:
            raise ArchiveLockedError(
                f"archive {self.path} is already open for writing "
                f"(lock {self._file_lock.path} is held by another process or Archive object); "
                "only one writer may open an archive file") from None
        try:
            self._load()
        except BaseException:
            self._file_lock.release()
            raise

    def close(self) -> None:
        """Compact if the journal has entries, close the file and release the lock."""
        with self.lock:
            if self._fd is None:
                return
            if self._journal_lines:
                self._compact_quietly()
            os.close(self._fd)
            self._fd = None
            self._file_lock.release()

    # -- incremental interface ------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once `close()` ran."""
        return self._fd is None

    def ensure_open(self) -> None:
        """Raise ArchiveClosedError once the storage is closed."""
        self._check_open()

    def live_table(self, name: str) -> Mapping[str, dict[str, Any]]:
        """The in-memory documents of a table (zero-copy: never mutate them)."""
        self._check_open()
        return self._tables.get(name, {})

    def apply_changes(self, name: str, changes: Mapping[str, dict[str, Any] | None]) -> None:
        """Set (dict) or delete (None) documents of a table; durable when the batch commits.

        The documents are stored as given (no copy): the caller hands over ownership.
        """
        with self.batch():
            for doc_id, doc in changes.items():
                self._record(name, str(doc_id), doc)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes into one atomic journal line, committed when the outermost batch exits.

        An exception leaving a batch undoes (in memory) every change made inside it; when
        it leaves the outermost batch nothing reaches the file.
        """
        with self.lock:
            self._check_open()
            outermost = self._pending is None
            if outermost:
                self._pending, self._undo = [], []
            assert self._pending is not None and self._undo is not None
            pending_mark, undo_mark = len(self._pending), len(self._undo)
            committed = False
            try:
                yield
                if outermost:
                    self._commit()
                    committed = True
            except BaseException:
                self._rollback(pending_mark, undo_mark)
                raise
            finally:
                if outermost:
                    self._pending = self._undo = None
            if committed and self.compact_every and self._journal_lines >= self.compact_every:
                self._compact_quietly()

    def compact(self) -> None:
        """Rewrite the journal as a single snapshot line, atomically."""
        with self.lock:
            self._check_open()
            if self._pending is not None:
                raise RuntimeError("cannot compact inside a batch")
            try:
                write_atomically(self.path, encode_snapshot(self._tables))
            finally:
                self._reopen_if_replaced()
            self._journal_lines = 0

    # -- internals --------------------------------------------------------------------------

    def _load(self) -> None:
        for stray in stray_temporaries(self.path):  # an interrupted compaction
            stray.unlink(missing_ok=True)
        if self.path.exists():
            self._tables, lines, torn = read_journal(self.path)
            if torn:
                _log.warning("ignored a torn (never acknowledged) last line in %s", self.path)
            needs_rewrite = lines > 0 or torn or self.path.stat().st_size == 0
        else:
            needs_rewrite = True
        if needs_rewrite:
            write_atomically(self.path, encode_snapshot(self._tables))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = os.fstat(self._fd).st_size

    def _check_open(self) -> None:
        if self._fd is None:
            raise ArchiveClosedError(f"archive {self.path} is closed")

    def _record(self, name: str, doc_id: str | None, doc: Any) -> None:
        """Apply one change in memory and remember how to undo it (inside a batch)."""
        assert self._pending is not None and self._undo is not None, "outside a batch"
        if doc_id is None:
            previous = self._tables.get(name, _MISSING)
            if doc is None and previous is _MISSING:
                return
        else:
            previous = self._tables.get(name, {}).get(doc_id, _MISSING)
            if doc is None and previous is _MISSING:
                return
            if name not in self._tables:
                self._undo.append((name, None, _MISSING))
        change = [name, doc_id, doc]
        apply_change(self._tables, change)
        self._undo.append((name, doc_id, previous))
        self._pending.append(change)

    def _rollback(self, pending_mark: int, undo_mark: int) -> None:
        assert self._pending is not None and self._undo is not None
        if len(self._undo) > undo_mark:
            self.rollbacks += 1
        while len(self._undo) > undo_mark:
            name, doc_id, previous = self._undo.pop()
            if doc_id is None:
                if previous is _MISSING:
                    self._tables.pop(name, None)
                else:
                    self._tables[name] = previous
            elif previous is _MISSING:
                self._tables.get(name, {}).pop(doc_id, None)
            else:
                self._tables.setdefault(name, {})[doc_id] = previous
        del self._pending[pending_mark:]

    def _commit(self) -> None:
        if not self._pending:
            return
        line = encode_changes(self._pending)
        assert self._fd is not None
        try:
            write_all(self._fd, line)
            if self._fsync:
                sync_data(self._fd)
        except OSError as error:
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                _log.exception("could not cut a failed journal append from %s", self.path)
            raise ArchiveWriteError(
                error.errno, f"could not write the archive journal {self.path}: {error}"
            ) from error
        self._size += len(line)
        self._journal_lines += 1

    def _compact_quietly(self) -> None:
        """Compact; on failure keep the (still complete) journal and log why."""
        try:
            self.compact()
        except OSError:
            _log.exception("compaction of %s failed; the journal stays valid", self.path)

    def _reopen_if_replaced(self) -> None:
        """Point the append handle at the file now at `path` if a rename replaced it."""
        assert self._fd is not None
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return
        held = os.fstat(self._fd)
        if (held.st_dev, held.st_ino) != (current.st_dev, current.st_ino):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            os.close(self._fd)
            self._fd = fd
            self._size = os.fstat(fd).st_size
