"""The journal file format: a snapshot line followed by one change-set line per commit.

Line 1: `{"format": "synarchive-journal", "version": 1, "tables": {table: {doc_id: doc}}}`.
Then one line per committed write: `{"c": [[table, doc_id, doc], ...]}` applied in order,
where `doc` null deletes the document, and `doc_id` null replaces (dict) or drops (null) the
whole table. A last line without its newline is a torn write that was never acknowledged and
is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synarchive.errors import ArchiveCorruptError

FORMAT_NAME = "synarchive-journal"
FORMAT_VERSION = 1

Tables = dict[str, dict[str, dict[str, Any]]]
Change = list[Any]  # [table, doc_id | None, doc | tables-dict | None]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def encode_snapshot(tables: Tables) -> bytes:
    """The first line of a journal holding `tables`."""
    return _dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, "tables": tables}) + b"\n"


def encode_changes(changes: list[Change]) -> bytes:
    """One journal line holding a change set (applied all together or not at all)."""
    return _dumps({"c": changes}) + b"\n"


def apply_change(tables: Tables, change: Change) -> None:
    """Apply one `[table, doc_id, doc]` change to `tables` in place."""
    table, doc_id, doc = change
    if doc_id is None:
        if doc is None:
            tables.pop(table, None)
        else:
            tables[table] = dict(doc)
    elif doc is None:
        tables.get(table, {}).pop(doc_id, None)
    else:
        tables.setdefault(table, {})[doc_id] = doc


def decode_journal(data: bytes, path: Path) -> tuple[Tables, int, bool]:
    """Parse a journal: returns (tables, number of change lines applied, torn tail found)."""
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, else an unfinished line
    if not lines:
        raise ArchiveCorruptError(f"{path} is not a synarchive journal (no complete first line)")
    tables = _decode_header(lines[0], path)
    for number, line in enumerate(lines[1:], start=2):
        for change in _decode_change_line(line, number, path):
            apply_change(tables, change)
    return tables, len(lines) - 1, bool(tail)


def _decode_header(line: bytes, path: Path) -> Tables:
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if (
        not isinstance(header, dict)
        or header.get("format") != FORMAT_NAME
        or not isinstance(header.get("tables"), dict)
    ):
        raise ArchiveCorruptError(f"{path} is not a synarchive journal (bad first line)")
    if header.get("version") != FORMAT_VERSION:
        raise ArchiveCorruptError(
            f"{path} has journal version {header.get('version')!r}; "
            f"this synarchive reads version {FORMAT_VERSION}"
        )
    return header["tables"]


def _decode_change_line(line: bytes, number: int, path: Path) -> list[Change]:
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    changes = entry.get("c") if isinstance(entry, dict) else None
    if not isinstance(changes, list) or not all(_is_change(change) for change in changes):
        raise ArchiveCorruptError(
            f"{path}: line {number} is not a journal entry (the file was altered outside "
            "synarchive); restore it from a backup"
        )
    return changes


def _is_change(change: Any) -> bool:
    return (
        isinstance(change, list)
        and len(change) == 3
        and isinstance(change[0], str)
        and (change[1] is None or isinstance(change[1], str))
        and (change[2] is None or isinstance(change[2], dict))
    )


def read_journal(path: Path) -> tuple[Tables, int, bool]:
    """Load the journal at `path` (see `decode_journal`); an empty file is an empty archive."""
    data = path.read_bytes()
    if not data:
        return {}, 0, False
    return decode_journal(data, path)
