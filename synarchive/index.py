"""In-memory indexes of one table: full key -> document id, and key prefix -> document ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

KeyValues = tuple[str, ...]


class KeyIndex:
    """Lookups by composite key, and by the key fields of each parent table (relations)."""

    def __init__(self, key_fields: tuple[str, ...], prefixes: Iterable[tuple[str, ...]]) -> None:
        self.key_fields = key_fields
        self._by_key: dict[KeyValues, str] = {}
        self._by_prefix: dict[tuple[str, ...], dict[KeyValues, dict[str, None]]] = {
            fields: {} for fields in prefixes if fields != key_fields
        }

    def values_of(self, key: Mapping[str, Any]) -> KeyValues:
        """The full-key tuple of a key object."""
        return tuple(key[field] for field in self.key_fields)

    def find(self, key: Mapping[str, Any]) -> str | None:
        """The document id holding this exact key, or None."""
        return self._by_key.get(self.values_of(key))

    def covers(self, fields: Iterable[str]) -> bool:
        """True when `related()` can answer a lookup on exactly these fields."""
        wanted = set(fields)
        return wanted == set(self.key_fields) or any(
            wanted == set(prefix) for prefix in self._by_prefix
        )

    def related(self, values: Mapping[str, Any]) -> list[str]:
        """Ids (oldest first) of documents whose key has every given field at the given value.

        `values` must name exactly the full key or one indexed prefix (see `covers`).
        """
        if set(values) == set(self.key_fields):
            found = self._by_key.get(self.values_of(values))
            return [] if found is None else [found]
        for fields, buckets in self._by_prefix.items():
            if set(values) == set(fields):
                bucket = buckets.get(tuple(values[field] for field in fields), {})
                return sorted(bucket, key=int)
        raise KeyError(f"no index on {sorted(values)}")

    def add(self, doc_id: str, key: Mapping[str, Any]) -> None:
        """Index a document under its key."""
        self._by_key[self.values_of(key)] = doc_id
        for fields, buckets in self._by_prefix.items():
            buckets.setdefault(tuple(key[field] for field in fields), {})[doc_id] = None

    def remove(self, doc_id: str, key: Mapping[str, Any]) -> None:
        """Forget a document."""
        self._by_key.pop(self.values_of(key), None)
        for fields, buckets in self._by_prefix.items():
            values = tuple(key[field] for field in fields)
            bucket = buckets.get(values)
            if bucket is not None:
                bucket.pop(doc_id, None)
                if not bucket:
                    del buckets[values]

    def rebuild(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """Re-index from the stored documents (after opening, or after a rollback)."""
        self._by_key.clear()
        for buckets in self._by_prefix.values():
            buckets.clear()
        for doc_id, doc in docs.items():
            self.add(doc_id, doc["key"])

    def __len__(self) -> int:
        return len(self._by_key)
