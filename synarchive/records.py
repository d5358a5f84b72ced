"""RecordTable: create (upsert), read, update and cascading delete on one archive table."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from synarchive.errors import RecordNotFound
from synarchive.index import KeyIndex
from synarchive.jsonvalues import clone_json
from synarchive.storage import JournalStorage
from synarchive.tables import TableSpec, parent_field_sets
from synarchive.tinydb_table import JournaledTable
from synarchive.validation import (
    check_details,
    check_filters,
    check_key,
    clean_fields,
    stored_details,
)
from syncommon.clock import utc_now

_MISSING = object()


class TableCoordinator(Protocol):
    """What a table asks of the archive holding it: the work that spans tables (relations,
    cascades, association links) and atomic commits."""

    def atomic(self) -> AbstractContextManager[None]:
        """Make the writes inside the block one durable commit."""

    def relations(self, spec: TableSpec, key: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
        """Every child table's records related to the record of `spec` with `key`."""

    def delete_cascade(self, table: RecordTable, doc_id: str) -> None:
        """Remove the document and, recursively, every related child document."""

    def new_link(self, spec: TableSpec, key: dict[str, str]) -> dict[str, str]:
        """A new association record's link: its prerequisites' ids and a fresh one."""


class RecordTable:
    """One table of the archive; records are addressed by their composite key.

    Records come back as `{**details, key, kind, created_at, updated_at, relations, link?}`
    (fresh copies). `relations` maps every child table name to the child records (without
    their own relations) whose key holds all of this record's key fields at equal values.
    """

    def __init__(self, spec: TableSpec, table: JournaledTable, storage: JournalStorage,
                 coordinator: TableCoordinator) -> None:
        self.spec = spec
        self.name = spec.name
        self._table = table
        self._coordinator = coordinator
        self._storage = storage
        self._index = KeyIndex(spec.key_fields, parent_field_sets(spec.name))

    @property
    def key_fields(self) -> tuple[str, ...]:
        """The composite key's field names, in order."""
        return self.spec.key_fields

    def __len__(self) -> int:
        with self._storage.lock:
            return len(self._index)

    def __repr__(self) -> str:
        return f"RecordTable({self.name!r}, key={self.spec.key_fields})"

    # -- public CRUD ------------------------------------------------------------------------

    def create(self, key: dict[str, str], details: dict[str, Any]) -> dict[str, Any]:
        """Insert the record, or replace the details of the one with this key (upsert).

        An upsert keeps `created_at` and `link` and sets `updated_at`. Tag and Alignment
        records need a Registration (Alignment also a Tag) with the same key: otherwise
        RecordNotFound. Invalid input raises RecordValidationError and writes nothing.
        """
        key = check_key(self.spec, key)
        details = clean_fields(self.spec, key, details, "details")
        check_details(self.spec, details)
        with self._storage.lock:
            with self._coordinator.atomic():
                doc_id = self._index.find(key)
                now = utc_now()
                if doc_id is None:
                    doc = {**details, "key": key, "kind": self.name, "created_at": now,
                           "updated_at": now}
                    if self.spec.is_association:
                        doc["link"] = self._coordinator.new_link(self.spec, key)
                    doc_id = str(self._table.insert(doc))
                    self._index.add(doc_id, key)
                else:
                    current = self._docs()[doc_id]
                    doc = {**details, **self._managed(current), "updated_at": now}
                    self._replace(doc_id, doc)
            return self._present(doc_id, True)

    def read(self, key: dict[str, str], include_relations: bool = True) -> dict[str, Any] | None:
        """The record with this key, or None."""
        key = check_key(self.spec, key)
        with self._storage.lock:
            self._storage.ensure_open()
            doc_id = self._index.find(key)
            return None if doc_id is None else self._present(doc_id, include_relations)

    def read_all(
        self, filters: dict[str, Any] | None = None, include_relations: bool = True
    ) -> list[dict[str, Any]]:
        """Every record (oldest first) where each filter item equals its key, link or top field.

        Filters on key fields only (e.g. `{"project_id": "p"}` on Run) use an index.
        """
        filters = check_filters(self.spec, filters)
        with self._storage.lock:
            docs = self._docs()
            if not filters:
                doc_ids = list(docs)
            elif self._indexable(filters):
                doc_ids = self._index.related(filters)
            else:
                doc_ids = [doc_id for doc_id, doc in docs.items() if _matches(doc, filters)]
            return [self._present(doc_id, include_relations) for doc_id in doc_ids]

    def update(self, key: dict[str, str], changes: dict[str, Any]) -> dict[str, Any]:
        """Shallow-merge `changes` into the record's top-level details and return it.

        Raises RecordNotFound if absent, RecordValidationError if a change touches the key,
        `link` or another archive-managed field, or if the merged details break the schema.
        """
        key = check_key(self.spec, key)
        changes = clean_fields(self.spec, key, changes, "changes")
        with self._storage.lock:
            self._storage.ensure_open()
            doc_id = self._index.find(key)
            if doc_id is None:
                raise RecordNotFound(self.name, key)
            current = self._docs()[doc_id]
            merged = {**stored_details(current), **changes}
            check_details(self.spec, merged)
            if changes:
                with self._coordinator.atomic():
                    doc = {**merged, **self._managed(current), "updated_at": utc_now()}
                    self._replace(doc_id, doc)
            return self._present(doc_id, True)

    def delete(self, key: dict[str, str]) -> dict[str, Any]:
        """Remove the record and, recursively, every related child record; all or nothing.

        Returns the deleted record with its relations as they were. Raises RecordNotFound.
        """
        key = check_key(self.spec, key)
        with self._storage.lock:
            self._storage.ensure_open()
            doc_id = self._index.find(key)
            if doc_id is None:
                raise RecordNotFound(self.name, key)
            record = self._present(doc_id, True)
            self._coordinator.delete_cascade(self, doc_id)
            return record

    # -- used by the coordinator --------------------------------------------------------------

    def _rebuild_index(self) -> None:
        self._index.rebuild(self._docs())

    def _related_docs(self, parent: TableSpec, parent_key: dict[str, str]) -> list[str]:
        """Ids of this table's documents related to a record of `parent` with `parent_key`."""
        return self._index.related({field: parent_key[field] for field in parent.key_fields})

    def _remove(self, doc_ids: list[str]) -> None:
        docs = self._docs()
        keys = [(doc_id, docs[doc_id]["key"]) for doc_id in doc_ids]
        self._table.remove(doc_ids=[int(doc_id) for doc_id in doc_ids])
        for doc_id, key in keys:
            self._index.remove(doc_id, key)

    def _link_of(self, key: dict[str, str]) -> dict[str, str] | None:
        doc_id = self._index.find(key)
        return None if doc_id is None else self._docs()[doc_id].get("link")

    def _docs(self) -> Any:
        return self._storage.live_table(self.name)

    # -- internals ----------------------------------------------------------------------------

    def _present(self, doc_id: str, include_relations: bool) -> dict[str, Any]:
        record = clone_json(self._docs()[doc_id])
        if include_relations:
            record["relations"] = self._coordinator.relations(self.spec, record["key"])
        return record

    def _managed(self, current: dict[str, Any]) -> dict[str, Any]:
        """The archive-managed fields an upsert or update keeps."""
        kept: dict[str, Any] = {name: current[name] for name in ("key", "kind", "created_at")
                                if name in current}
        if "link" in current:
            kept["link"] = current["link"]
        return kept

    def _replace(self, doc_id: str, doc: dict[str, Any]) -> None:
        self._table.update(_replacer(doc), doc_ids=[int(doc_id)])

    def _indexable(self, filters: dict[str, Any]) -> bool:
        return (
            all(name in self.spec.key_fields for name in filters)
            and all(isinstance(value, str) for value in filters.values())
            and self._index.covers(filters)
        )


def _replacer(doc: dict[str, Any]) -> Callable[[MutableMapping[str, Any]], None]:
    def replace(stored: MutableMapping[str, Any]) -> None:
        stored.clear()
        stored.update(doc)

    return replace


def _matches(doc: dict[str, Any], filters: dict[str, Any]) -> bool:
    key = doc.get("key", {})
    link = doc.get("link") or {}
    for name, wanted in filters.items():
        if key.get(name, _MISSING) == wanted:
            continue
        if doc.get(name, _MISSING) == wanted or link.get(name, _MISSING) == wanted:
            continue
        return False
    return True

