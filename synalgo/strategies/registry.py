"""The strategies a run's `algorithm` may name: one line per strategy class."""

from __future__ import annotations

from typing import Any

from synalgo.errors import RunConfigError
from synalgo.strategies.base import Strategy
from synalgo.strategies.fedavg import FedAvg
from synalgo.strategies.feddyn import FedDyn
from synalgo.strategies.fedgkt import FedGKT
from synalgo.strategies.fedopt import FedAdagrad, FedAdam, FedAvgM, FedYogi
from synalgo.strategies.fedprox import FedProx
from synalgo.strategies.scaffold import Scaffold

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (
        FedAvg, FedProx, FedAvgM, FedAdam, FedYogi, FedAdagrad, FedGKT, Scaffold, FedDyn,
    )
}
SUPPORTED_ALGORITHMS: tuple[str, ...] = tuple(STRATEGIES)

__all__ = ["STRATEGIES", "SUPPORTED_ALGORITHMS", "get_strategy"]


def get_strategy(
    run: dict[str, Any],
    spec: list[dict[str, Any]] | None = None,
    n_classes: int | None = None,
) -> Strategy:
    """The strategy for `run` (normalised first); raises `RunConfigError` when it is invalid.
    `spec` and `n_classes` are needed by the server half (initial state, FedGKT)."""
    # run_config collects the strategies' run fields from this module: imported on use
    from synalgo.run_config import normalise_run

    normalised, errors = normalise_run(run)
    if errors:
        detail = "; ".join(f"{field}: {message}" for field, message in sorted(errors.items()))
        raise RunConfigError(f"invalid run configuration: {detail}")
    return STRATEGIES[normalised["algorithm"]](normalised, spec=spec, n_classes=n_classes)
