"""FedProx (Li et al. 2020): FedAvg plus a proximal term mu/2 * ||w - w_global||^2 on clients."""

from __future__ import annotations

from synalgo.hyperparameters import Hyperparameter, number
from synalgo.strategies.base import Strategy


class FedProx(Strategy):
    """FedAvg aggregation; clients add the proximal term with the run's `mu`."""

    name = "FedProx"
    hyperparameters = (
        Hyperparameter("mu", 0.1, number(0.0),
                       description="FedProx proximal coefficient"),
    )

    @property
    def proximal_mu(self) -> float:
        """The run's `mu`."""
        return float(self.run["mu"])
