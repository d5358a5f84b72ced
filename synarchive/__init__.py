"""synarchive: the metadata archive (TinyDB on a durable journal) with composite keys.

    archive = Archive("/orchestrator/data/database.json")
    archive.table("Project").create({"project_id": "p"}, {"action": "classify", "incentives": {}})

Contract (see `synarchive.tables` for keys and children):
- Records come back as `{**details, key, kind, created_at, updated_at, relations, link?}`;
  timestamps are ISO-8601 UTC (`...Z`). `relations` always lists every child table of the
  record's table (possibly `[]`), each child record without its own relations. Stored records
  never contain `relations`.
- `create` is an upsert: it replaces the details, keeps `created_at` and `link`, sets
  `updated_at`. `update` shallow-merges top-level fields; it cannot change the key, key fields,
  `kind`, `link` or the timestamps. Key fields repeated in details must equal the key and are
  stored only under `key`.
- `delete` returns the record (with relations as they were) and removes every related child
  record recursively, matching on the full composite key prefix, in one atomic commit.
- Tag needs a Registration with the same key, Alignment a Registration and a Tag (else
  RecordNotFound); their `link` copies those records' ids.
- Every write is validated (JSON schema per table, `synarchive/schemas/`) before anything is
  written, and is fsync'ed before it returns; one process may open an archive file.
"""

from __future__ import annotations

from synarchive.archive import Archive
from synarchive.errors import (
    ArchiveClosedError,
    ArchiveCorruptError,
    ArchiveError,
    ArchiveLockedError,
    ArchiveWriteError,
    RecordNotFound,
    RecordValidationError,
    UnknownTableError,
)
from synarchive.records import RecordTable
from synarchive.storage import DEFAULT_COMPACT_EVERY, JournalStorage
from synarchive.tables import TABLES, TableSpec

__all__ = [
    "DEFAULT_COMPACT_EVERY",
    "TABLES",
    "Archive",
    "ArchiveClosedError",
    "ArchiveCorruptError",
    "ArchiveError",
    "ArchiveLockedError",
    "ArchiveWriteError",
    "JournalStorage",
    "RecordNotFound",
    "RecordTable",
    "RecordValidationError",
    "TableSpec",
    "UnknownTableError",
]
