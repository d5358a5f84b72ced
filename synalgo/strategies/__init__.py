"""Federated strategies, one per module, each with a server and a client half."""

from __future__ import annotations

from synalgo.strategies.base import Aggregator, Strategy
from synalgo.strategies.registry import STRATEGIES, SUPPORTED_ALGORITHMS, get_strategy

__all__ = ["STRATEGIES", "SUPPORTED_ALGORITHMS", "Aggregator", "Strategy", "get_strategy"]
