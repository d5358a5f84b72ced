"""Deterministic row partitions for splitting one dataset between federated parties."""

from __future__ import annotations

import numpy as np


def partition_iid(n_rows: int, n_parts: int, seed: int) -> list[np.ndarray]:
    """Split `range(n_rows)` into `n_parts` disjoint, near-equal random parts (sorted indexes).

    The same arguments always give the same parts; every row lands in exactly one part.
    """
    if n_parts < 1:
        raise ValueError(f"n_parts must be at least 1, got {n_parts}")
    if n_rows < n_parts:
        raise ValueError(f"cannot split {n_rows} rows into {n_parts} non-empty parts")
    order = np.random.default_rng(seed).permutation(n_rows)
    return [np.sort(part) for part in np.array_split(order, n_parts)]


def partition_label_skew(labels: np.ndarray, n_parts: int, seed: int,
                         dominant_share: float = 0.7) -> list[np.ndarray]:
    """Split rows so each class is concentrated on one party: class k gives `dominant_share` of
    its rows to party `k mod n_parts` and spreads the rest evenly over the others."""
    if n_parts < 1:
        raise ValueError(f"n_parts must be at least 1, got {n_parts}")
    if not 0.0 <= dominant_share <= 1.0:
        raise ValueError(f"dominant_share must lie in [0, 1], got {dominant_share}")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    parts: list[list[np.ndarray]] = [[] for _ in range(n_parts)]
    for k, label in enumerate(np.unique(labels)):
        rows = rng.permutation(np.flatnonzero(labels == label))
        owner = k % n_parts
        if n_parts == 1:
            parts[0].append(rows)
            continue
        n_owner = round(dominant_share * len(rows))
        parts[owner].append(rows[:n_owner])
        others = [p for p in range(n_parts) if p != owner]
        for party, share in zip(others, np.array_split(rows[n_owner:], len(others)), strict=True):
            parts[party].append(share)
    result = [np.sort(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64)
              for chunks in parts]
    if any(len(part) == 0 for part in result):
        raise ValueError(f"{len(labels)} rows are too few to give each of {n_parts} parties a row")
    return result
