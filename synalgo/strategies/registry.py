"""Select a strategy by the run's `algorithm` name."""

from __future__ import annotations

from typing import Any

from synalgo.errors import RunConfigError
from synalgo.run_config import normalise_run
from synalgo.run_fields import SUPPORTED_ALGORITHMS
from synalgo.strategies.base import Strategy
from synalgo.strategies.fedavg import FedAvg
from synalgo.strategies.fedgkt import FedGKT
from synalgo.strategies.fedopt import FedAdagrad, FedAdam, FedAvgM, FedYogi
from synalgo.strategies.fedprox import FedProx

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (FedAvg, FedProx, FedAvgM, FedAdam, FedYogi, FedAdagrad, FedGKT)
}
if set(STRATEGIES) != set(SUPPORTED_ALGORITHMS):  # pragma: no cover - a wiring mistake
    raise ImportError("strategy registry and SUPPORTED_ALGORITHMS disagree")

__all__ = ["STRATEGIES", "SUPPORTED_ALGORITHMS", "get_strategy"]


def get_strategy(
    run: dict[str, Any],
    spec: list[dict[str, Any]] | None = None,
    n_classes: int | None = None,
) -> Strategy:
    """The strategy for `run` (normalised first); raises `RunConfigError` when it is invalid.
    `spec` and `n_classes` are needed by the server half (initial state, FedGKT)."""
    normalised, errors = normalise_run(run)
    if errors:
        detail = "; ".join(f"{field}: {message}" for field, message in sorted(errors.items()))
        raise RunConfigError(f"invalid run configuration: {detail}")
    return STRATEGIES[normalised["algorithm"]](normalised, spec=spec, n_classes=n_classes)
