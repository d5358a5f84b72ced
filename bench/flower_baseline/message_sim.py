"""The current Flower path: `flwr.simulation.run_simulation` with a `ServerApp` running the
Message-API `flwr.serverapp.strategy.FedAvg` and a `ClientApp` with a `@train` handler."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, Context, Message
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.simulation import run_simulation

from bench import common
from bench.flower_baseline.client_work import model_arrays
from bench.flower_baseline.message_api import TimedMessageFedAvg, train_reply
from bench.flower_baseline.timing import RoundClock


def build_client_app(model_name: str, n_clients: int, local_steps: int | None) -> ClientApp:
    """A `ClientApp` whose train handler fits the global model on the node's partition."""
    app = ClientApp()

    @app.train()
    def train(message: Message, context: Context) -> Message:
        partition = int(context.node_config["partition-id"])
        return train_reply(message, partition, model_name,
                           common.client_data(partition, n_clients), local_steps)

    return app


def run_message_api(model_name: str, n_clients: int, rounds: int, local_steps: int | None,
                    clock: RoundClock, ray_init_args: dict[str, Any],
                    client_resources: dict[str, float]) -> list[np.ndarray]:
    """Run the simulation through `run_simulation`; returns the final global weights."""
    final: dict[str, list[np.ndarray]] = {}
    failure: list[BaseException] = []
    server_app = ServerApp()

    @server_app.main()
    def main(grid: Grid, context: Context) -> None:
        strategy = TimedMessageFedAvg(
            clock, fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=n_clients,
            min_evaluate_nodes=0, min_available_nodes=n_clients)
        initial = ArrayRecord(model_arrays(common.build_model(model_name)))
        try:
            result = strategy.start(grid=grid, initial_arrays=initial, num_rounds=rounds)
        except BaseException as error:  # re-raised in the caller's thread below
            failure.append(error)
            raise
        final["arrays"] = result.arrays.to_numpy_ndarrays()

    logging.getLogger("flwr").setLevel(logging.WARNING)
    run_simulation(
        server_app=server_app, client_app=build_client_app(model_name, n_clients, local_steps),
        num_supernodes=n_clients,
        backend_config={"client_resources": client_resources, "init_args": ray_init_args})
    if failure:
        raise RuntimeError("the ServerApp failed") from failure[0]
    if "arrays" not in final:
        raise RuntimeError("the simulation produced no global weights")
    return final["arrays"]
