"""Archive: the metadata archive of one node, a set of RecordTables over one journal file,
and the coordinator of what spans tables (relations, cascading deletes, association links)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synarchive.errors import ArchiveCorruptError, RecordNotFound, UnknownTableError
from synarchive.jsonvalues import clone_json
from synarchive.records import RecordTable
from synarchive.storage import DEFAULT_COMPACT_EVERY, JournalStorage
from synarchive.tables import TABLES, TableSpec
from synarchive.tinydb_table import JournaledTinyDB


class Archive:
    """The archive file at `path`, opened for writing by this process only (thread-safe).

    Every write is durable (fsync'ed) before it returns. `compact_every` is how many commits
    the journal collects before it is rewritten as one snapshot (0: only on open and close).
    Raises ArchiveLockedError if another process or Archive object holds the file.
    """

    def __init__(self, path: str | Path, compact_every: int = DEFAULT_COMPACT_EVERY) -> None:
        self._db = JournaledTinyDB(Path(path), compact_every=compact_every)
        storage = self._db.storage
        assert isinstance(storage, JournalStorage)
        self.storage: JournalStorage = storage
        self._tables = {
            name: RecordTable(spec, self._db.table(name, cache_size=0),  # type: ignore[arg-type]
                              storage, self)
            for name, spec in TABLES.items()
        }
        try:
            self._rebuild_indexes()
        except (KeyError, TypeError, AttributeError) as error:
            self._db.close()
            raise ArchiveCorruptError(
                f"{self.path} holds a document without a valid `key` ({error!r})"
            ) from error

    @property
    def path(self) -> Path:
        """The journal file."""
        return self.storage.path

    @property
    def table_names(self) -> list[str]:
        """Names of every table, e.g. `Project`, `Run`, `Job`."""
        return list(self._tables)

    def table(self, name: str) -> RecordTable:
        """The table called `name` (e.g. "Project"); raises UnknownTableError."""
        try:
            return self._tables[name]
        except KeyError:
            raise UnknownTableError(name, self.table_names) from None

    @contextmanager
    def transaction(self) -> Iterator[Archive]:
        """Make every write inside the block one atomic, durable commit.

        If an exception leaves the block nothing inside it is kept. Other threads wait
        until the block ends, so do not wait on them from inside it.
        """
        with self.atomic():
            yield self

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Like `transaction()`, for the tables' own multi-step writes."""
        with self.storage.lock:
            rollbacks = self.storage.rollbacks
            try:
                with self.storage.batch():
                    yield
            finally:
                if self.storage.rollbacks != rollbacks:
                    self._rebuild_indexes()

    def relations(self, spec: TableSpec, key: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
        """Every child table's records (fresh copies, without their relations) whose key
        holds all of `key`'s fields of `spec` at equal values."""
        relations: dict[str, list[dict[str, Any]]] = {}
        for child_name in spec.children:
            child = self._tables[child_name]
            child_docs = child._docs()
            relations[child_name] = [clone_json(child_docs[child_id])
                                     for child_id in child._related_docs(spec, key)]
        return relations

    def delete_cascade(self, table: RecordTable, doc_id: str) -> None:
        """Remove the document and every related child document, recursively, in one commit."""
        doomed: dict[str, dict[str, None]] = {}
        self._collect_cascade(table, doc_id, doomed)
        with self.atomic():
            for table_name, doc_ids in doomed.items():
                self._tables[table_name]._remove(list(doc_ids))

    def new_link(self, spec: TableSpec, key: dict[str, str]) -> dict[str, str]:
        """A new association record's link: the ids of its prerequisites with the same key
        (RecordNotFound naming the missing one) and a fresh id of its own."""
        link: dict[str, str] = {}
        for prerequisite in spec.prerequisites:
            found = self._tables[prerequisite]._link_of(key)
            if found is None:
                raise RecordNotFound(
                    prerequisite, key,
                    hint=f"a {spec.name} needs the {prerequisite} of the same key first",
                )
            link_field = TABLES[prerequisite].link_field
            assert link_field is not None
            link[link_field] = found[link_field]
        assert spec.link_field is not None
        link[spec.link_field] = uuid.uuid4().hex
        return link

    def compact(self) -> None:
        """Rewrite the journal as a single snapshot now."""
        self.storage.compact()

    def close(self) -> None:
        """Compact, close the file and release the writer lock (idempotent)."""
        self._db.close()

    @property
    def closed(self) -> bool:
        """True once `close()` ran."""
        return self.storage.closed

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Archive({str(self.path)!r})"

    def _collect_cascade(self, table: RecordTable, doc_id: str,
                         doomed: dict[str, dict[str, None]]) -> None:
        doomed.setdefault(table.name, {})[doc_id] = None
        key = table._docs()[doc_id]["key"]
        for child_name in table.spec.children:
            child = self._tables[child_name]
            for child_id in child._related_docs(table.spec, key):
                if child_id not in doomed.get(child_name, {}):
                    self._collect_cascade(child, child_id, doomed)

    def _rebuild_indexes(self) -> None:
        with self.storage.lock:
            for table in self._tables.values():
                table._rebuild_index()
