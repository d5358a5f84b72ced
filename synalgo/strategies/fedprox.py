"""FedProx (Li et al. 2020): FedAvg plus a proximal term mu/2 * ||w - w_global||^2 on clients."""

from __future__ import annotations

from synalgo.strategies.base import Strategy


class FedProx(Strategy):
    """FedAvg aggregation; clients add the proximal term with the run's `mu`."""

    name = "FedProx"

    @property
    def proximal_mu(self) -> float:
        """The run's `mu`."""
        return float(self.run["mu"])
