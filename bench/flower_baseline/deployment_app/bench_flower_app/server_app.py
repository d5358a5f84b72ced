"""The ServerApp: FedAvg over every SuperNode for `rounds` rounds, then the final global model
is evaluated on the held-out test set and the measurements are written to `result-path`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from flwr.app import ArrayRecord, Context
from flwr.serverapp import Grid, ServerApp

from bench import common
from bench.flower_baseline.client_work import evaluate_arrays, model_arrays
from bench.flower_baseline.message_api import TimedMessageFedAvg
from bench.flower_baseline.timing import RoundClock

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Train, evaluate, and write one JSON object (startup, rounds, total, test metrics)."""
    config = context.run_config
    n_clients, model = int(config["num-clients"]), str(config["model"])
    clock = RoundClock(float(config["started-at"]))
    strategy = TimedMessageFedAvg(
        clock, fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=n_clients,
        min_evaluate_nodes=0, min_available_nodes=n_clients)
    initial = ArrayRecord(model_arrays(common.build_model(model)))
    result = strategy.start(grid=grid, initial_arrays=initial,
                            num_rounds=int(config["rounds"]))
    evaluation = evaluate_arrays(model, result.arrays.to_numpy_ndarrays())
    measurements = {**clock.summary(time.time()), "test_accuracy": evaluation["accuracy"],
                    "test_loss": evaluation["loss"]}
    target = Path(str(config["result-path"]))
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(measurements), encoding="utf-8")
    os.replace(partial, target)  # the orchestrator waits for this file to appear whole
