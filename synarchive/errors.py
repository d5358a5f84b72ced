"""Exceptions raised by the metadata archive."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ArchiveError(Exception):
    """Base class of every error the archive raises on purpose."""


class RecordValidationError(ArchiveError, ValueError):
    """A key, details or changes object is invalid; nothing was written.

    `errors` maps a field path (e.g. `model.0.l_type`, `key.project_id`, `action`) to a message.
    """

    def __init__(self, errors: Mapping[str, str], table: str | None = None) -> None:
        self.errors: dict[str, str] = dict(errors)
        self.table = table
        listed = "; ".join(f"{path}: {message}" for path, message in self.errors.items())
        where = f"invalid {table} record" if table else "invalid record"
        super().__init__(f"{where}: {listed}" if listed else where)


class RecordNotFound(ArchiveError, LookupError):
    """No record with this key exists in the table."""

    def __init__(self, table: str, key: Mapping[str, Any], hint: str = "") -> None:
        self.table = table
        self.key = dict(key)
        shown = ", ".join(f"{field}={value!r}" for field, value in self.key.items())
        message = f"{table} record ({shown}) does not exist"
        super().__init__(f"{message}; {hint}" if hint else message)


class UnknownTableError(ArchiveError, LookupError):
    """The archive has no table of this name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown archive table {name!r}; tables are: {', '.join(known)}")


class ArchiveLockedError(ArchiveError):
    """Another process (or another Archive object) already has this archive file open."""


class ArchiveCorruptError(ArchiveError):
    """The archive file cannot be loaded: it is not a journal this package wrote."""


class ArchiveClosedError(ArchiveError):
    """The archive was closed; open a new `Archive` to keep working."""


class ArchiveWriteError(ArchiveError, OSError):
    """The journal could not be written durably; the change was rolled back in memory."""
