"""TinyDB table and database classes that write only what changed to a JournalStorage.

TinyDB's own `Table` rebuilds and rewrites the whole table on every write (O(n)); this table
hands its updaters a change-tracking view instead and passes only the changed documents on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from tinydb import TinyDB
from tinydb.table import Table

from synarchive.jsonvalues import clone_json
from synarchive.storage import JournalStorage

_REMOVED = object()


class ChangeTracker(MutableMapping):
    """A dict-like view of a table (int doc ids) that records sets and deletes.

    Reading a document returns a private deep copy, so in-place edits by TinyDB updaters
    never touch the stored document until the storage commits them.
    """

    def __init__(self, live: Mapping[str, dict[str, Any]]) -> None:
        self._live = live
        self._touched: dict[str, Any] = {}  # doc_id -> new doc, or _REMOVED

    def __getitem__(self, doc_id: int) -> dict[str, Any]:
        key = str(doc_id)
        if key in self._touched:
            doc = self._touched[key]
            if doc is _REMOVED:
                raise KeyError(doc_id)
            return doc
        doc = clone_json(self._live[key])
        self._touched[key] = doc
        return doc

    def __setitem__(self, doc_id: int, doc: dict[str, Any]) -> None:
        self._touched[str(doc_id)] = doc

    def __delitem__(self, doc_id: int) -> None:
        if doc_id not in self:
            raise KeyError(doc_id)
        self._touched[str(doc_id)] = _REMOVED

    def __contains__(self, doc_id: object) -> bool:
        key = str(doc_id)
        if key in self._touched:
            return self._touched[key] is not _REMOVED
        return key in self._live

    def __iter__(self) -> Iterator[int]:
        for key in self._live:
            if self._touched.get(key) is not _REMOVED:
                yield int(key)
        for key, doc in list(self._touched.items()):
            if key not in self._live and doc is not _REMOVED:
                yield int(key)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def clear(self) -> None:
        """Delete every document (TinyDB's `truncate`)."""
        for key in list(self._live):
            self._touched[key] = _REMOVED
        for key in list(self._touched):
            if key not in self._live:
                del self._touched[key]

    def changes(self) -> dict[str, dict[str, Any] | None]:
        """The documents that really changed: doc_id -> new document, or None if deleted."""
        changed: dict[str, dict[str, Any] | None] = {}
        for key, doc in self._touched.items():
            if doc is _REMOVED:
                if key in self._live:
                    changed[key] = None
            elif self._live.get(key) != doc:
                changed[key] = clone_json(dict(doc))
        return changed


class JournaledTable(Table):
    """A TinyDB table whose reads are zero-copy and whose writes journal only the changes."""

    def __init__(self, storage: Any, name: str, **kwargs: Any) -> None:
        if not isinstance(storage, JournalStorage):
            raise TypeError("JournaledTable needs a JournalStorage")
        super().__init__(storage, name, **kwargs)  # type: ignore[arg-type]  # not a Storage:
        # the table reaches its storage only through the two methods below
        self._journal = storage

    def _read_table(self) -> Mapping[str, Mapping]:  # type: ignore[override]
        return self._journal.live_table(self.name)

    def _update_table(self, updater: Callable[[dict[int, Mapping]], None]) -> None:
        with self._journal.lock:
            tracker = ChangeTracker(self._journal.live_table(self.name))
            updater(tracker)  # type: ignore[arg-type]
            self._journal.apply_changes(self.name, tracker.changes())
        self.clear_cache()


class JournaledTinyDB(TinyDB):
    """TinyDB on a JournalStorage with `JournaledTable` tables."""

    table_class = JournaledTable  # type: ignore[assignment]  # its storage is a JournalStorage
    default_storage_class = JournalStorage  # type: ignore[assignment]  # typed as JSONStorage
