"""Participant contributions: per-round Shapley values (exact or GTG-Shapley) and tiers."""

from __future__ import annotations

from synalgo.contribution.gtg import GTGSettings, gtg_shapley
from synalgo.contribution.shapley import (
    Coalition,
    RoundValues,
    all_coalitions,
    evaluate_in_batches,
    exact_shapley,
)
from synalgo.contribution.tiers import TierResult, assign_tiers, merge_incentives

EXACT_LIMIT = 8  # participants up to which every coalition is evaluated

__all__ = [
    "EXACT_LIMIT",
    "Coalition",
    "GTGSettings",
    "RoundValues",
    "TierResult",
    "all_coalitions",
    "assign_tiers",
    "evaluate_in_batches",
    "exact_shapley",
    "gtg_shapley",
    "merge_incentives",
]
