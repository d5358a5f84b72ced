"""Totals, shares and incentive tiers from per-round contributions.

Φ_i = Σ_t φ_i^t; share s_i = max(Φ_i, 0) / Σ_j max(Φ_j, 0); `tier_1` when s_i ≥ 1/N,
`tier_2` when 0 < s_i < 1/N, `tier_3` when Φ_i ≤ 0 (a free rider or harmful data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TIER_NAMES = ("tier_1", "tier_2", "tier_3")


@dataclass
class TierResult:
    """Totals Φ, shares and the participant ids of each tier (sorted)."""

    totals: dict[str, float]
    shares: dict[str, float]
    tiers: dict[str, list[str]]


def assign_tiers(per_round: Iterable[Mapping[str, float]], participants: Iterable[str]
                 ) -> TierResult:
    """Sum the per-round values of every participant (0 for a round it is absent from),
    then share and tier them."""
    totals = dict.fromkeys(sorted(participants), 0.0)
    for values in per_round:
        for pid, value in values.items():
            totals[pid] = totals.get(pid, 0.0) + float(value)
    positive = sum(max(total, 0.0) for total in totals.values())
    shares = {pid: (max(total, 0.0) / positive if positive > 0 else 0.0)
              for pid, total in totals.items()}
    tiers: dict[str, list[str]] = {name: [] for name in TIER_NAMES}
    fair_share = 1.0 / len(totals) if totals else 0.0
    for pid in sorted(totals):
        if totals[pid] <= 0:
            tiers["tier_3"].append(pid)
        elif shares[pid] >= fair_share - 1e-12:
            tiers["tier_1"].append(pid)
        else:
            tiers["tier_2"].append(pid)
    return TierResult(totals, shares, tiers)


def merge_incentives(existing: Mapping[str, Any] | None, tiers: Mapping[str, list[str]]
                     ) -> dict[str, Any]:
    """The project's `incentives` with the three tiers replaced and every other key kept."""
    merged = dict(existing or {})
    merged.update({name: list(tiers.get(name, [])) for name in TIER_NAMES})
    return merged
