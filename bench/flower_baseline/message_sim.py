"""The current Flower path: `flwr.simulation.run_simulation` with a `ServerApp` running the
Message-API `flwr.serverapp.strategy.FedAvg` and a `ClientApp` with a `@train` handler."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg
from flwr.simulation import run_simulation

from bench import common
from bench.flower_baseline.client_work import fit_client, model_arrays
from bench.flower_baseline.timing import RoundClock


class TimedMessageFedAvg(FedAvg):
    """Message-API FedAvg that records round boundaries and refuses to aggregate a round in
    which any client replied with an error."""

    def __init__(self, clock: RoundClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        """Mark the round's start, then address every node as FedAvg does."""
        self.clock.round_started(server_round)
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Weighted average of the replies' arrays; marks the round's end."""
        replies = list(replies)
        errors = [m.error.reason for m in replies if m.has_error()]
        if errors:
            raise RuntimeError(f"round {server_round}: {len(errors)} client(s) failed: "
                               f"{errors[0]}")
        metrics = [m.content["metrics"] for m in replies]
        self.clock.clients_reported(server_round, [float(m["fit_started_at"]) for m in metrics],
                                    [float(m["fit_s"]) for m in metrics])
        aggregation_started = time.perf_counter()
        result = super().aggregate_train(server_round, replies)
        self.clock.round_ended(server_round, time.perf_counter() - aggregation_started)
        return result


def build_client_app(model_name: str, n_clients: int, local_steps: int | None) -> ClientApp:
    """A `ClientApp` whose train handler fits the global model on the node's partition."""
    app = ClientApp()

    @app.train()
    def train(message: Message, context: Context) -> Message:
        started_at = time.time()
        partition = int(context.node_config["partition-id"])
        global_arrays = message.content["arrays"].to_numpy_ndarrays()
        server_round = int(message.content["config"]["server-round"])
        arrays, n_rows, loss = fit_client(model_name, partition, n_clients, global_arrays,
                                          server_round, local_steps)
        content = RecordDict({
            "arrays": ArrayRecord(arrays),
            "metrics": MetricRecord({"train_loss": loss, "num-examples": n_rows,
                                    "fit_started_at": started_at,
                                    "fit_s": time.time() - started_at}),
        })
        return Message(content=content, reply_to=message)

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
