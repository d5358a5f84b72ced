"""Message-API pieces shared by `run_simulation` (`message_sim`) and the deployment engine's
apps (`deployment_app`): FedAvg with round timing, and a client's reply to a train message."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from bench.flower_baseline.client_work import fit_partition
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


def train_reply(message: Message, partition: int, model_name: str,
                data: tuple[np.ndarray, np.ndarray], local_steps: int | None) -> Message:
    """Fit the message's global arrays on client `partition`'s rows `data` (features,
    labels); the reply carries the new arrays, the row count and when and how long the client
    trained."""
    started_at = time.time()
    global_arrays = message.content["arrays"].to_numpy_ndarrays()
    server_round = int(message.content["config"]["server-round"])
    arrays, n_rows, loss = fit_partition(model_name, partition, *data, global_arrays,
                                         server_round, local_steps)
    content = RecordDict({
        "arrays": ArrayRecord(arrays),
        "metrics": MetricRecord({"train_loss": loss, "num-examples": n_rows,
                                 "fit_started_at": started_at,
                                 "fit_s": time.time() - started_at}),
    })
    return Message(content=content, reply_to=message)
