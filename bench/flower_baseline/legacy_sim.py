"""The legacy Flower path: `flwr.simulation.start_simulation` with a `client_fn` and a
`flwr.server.strategy.FedAvg` that samples every client every round."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from flwr.client import Client, NumPyClient
from flwr.common import Context, Parameters, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import ServerConfig
from flwr.server.strategy import FedAvg
from flwr.simulation import start_simulation

from bench import common
from bench.flower_baseline.client_work import fit_client, model_arrays
from bench.flower_baseline.timing import RoundClock


class BenchmarkClient(NumPyClient):
    """One virtual client: trains the global model on its IID partition."""

    def __init__(self, model_name: str, partition_index: int, n_clients: int,
                 local_steps: int | None) -> None:
        self.model_name = model_name
        self.partition_index = partition_index
        self.n_clients = n_clients
        self.local_steps = local_steps

    def fit(self, parameters: list[np.ndarray],
            config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict[str, Any]]:
        """Local training from the global `parameters`; `config` carries the server round."""
        started_at = time.time()
        arrays, n_rows, loss = fit_client(
            self.model_name, self.partition_index, self.n_clients, parameters,
            int(config["server_round"]), self.local_steps)
        return arrays, n_rows, {"train_loss": loss, "fit_started_at": started_at,
                                "fit_s": time.time() - started_at}


class TimedFedAvg(FedAvg):
    """FedAvg that records round boundaries, keeps the latest global weights and refuses to
    aggregate a round in which any client failed."""

    def __init__(self, clock: RoundClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self.latest_parameters: Parameters | None = kwargs.get("initial_parameters")

    def configure_fit(self, server_round: int, parameters: Parameters,
                      client_manager: Any) -> list:
        """Mark the round's start, then configure it as FedAvg does."""
        self.clock.round_started(server_round)
        return super().configure_fit(server_round, parameters, client_manager)

    def aggregate_fit(self, server_round: int, results: list,
                      failures: list) -> tuple[Parameters | None, dict]:
        """Weighted average of the clients' weights; marks the round's end."""
        if failures:
            raise RuntimeError(f"round {server_round}: {len(failures)} client(s) failed: "
                               f"{failures[0]!r}")
        self.clock.clients_reported(
            server_round, [float(res.metrics["fit_started_at"]) for _, res in results],
            [float(res.metrics["fit_s"]) for _, res in results])
        aggregation_started = time.perf_counter()
        parameters, metrics = super().aggregate_fit(server_round, results, failures)
        if parameters is not None:
            self.latest_parameters = parameters
        self.clock.round_ended(server_round, time.perf_counter() - aggregation_started)
        return parameters, metrics


def run_legacy(model_name: str, n_clients: int, rounds: int, local_steps: int | None,
               clock: RoundClock, ray_init_args: dict[str, Any],
               client_resources: dict[str, float]) -> list[np.ndarray]:
    """Run the simulation through `start_simulation`; returns the final global weights."""

    def client_fn(context: Context) -> Client:
        partition = int(context.node_config["partition-id"])
        return BenchmarkClient(model_name, partition, n_clients, local_steps).to_client()

    initial = model_arrays(common.build_model(model_name))
    strategy = TimedFedAvg(
        clock, fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=n_clients,
        min_evaluate_clients=0, min_available_clients=n_clients,
        initial_parameters=ndarrays_to_parameters(initial),
        on_fit_config_fn=lambda server_round: {"server_round": server_round},
        accept_failures=False)
    logging.getLogger("flwr").setLevel(logging.WARNING)
    start_simulation(
        client_fn=client_fn, num_clients=n_clients, config=ServerConfig(num_rounds=rounds),
        strategy=strategy, client_resources=client_resources, ray_init_args=ray_init_args)
    if strategy.latest_parameters is None:
        raise RuntimeError("the simulation produced no global weights")
    return parameters_to_ndarrays(strategy.latest_parameters)
