"""The timestamps every record carries (`created_at`, `started_at`, `finished_at`, ...)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """The current UTC time as ISO-8601 with microseconds and a `Z` suffix."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
