"""FedAvg (McMahan et al. 2017): sample-weighted mean of the clients' weights."""

from __future__ import annotations

from synalgo.strategies.base import Strategy


class FedAvg(Strategy):
    """Clients train from the global weights; the server takes the weighted mean.
    `mu` in the run is ignored (no proximal term)."""

    name = "FedAvg"
