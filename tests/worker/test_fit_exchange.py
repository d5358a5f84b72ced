"""The fit exchange over real HTTP: the received model's evaluation loss rides on it, and a
compressed run's bodies are deltas against the model the Worker holds."""

from __future__ import annotations

import pytest
import torch

from synalgo.compression import compress_update
from tests.worker.conftest import WorkerClient
from tests.worker.models import FEDAVG_RUN, binary_model, initial_weights

pytestmark = pytest.mark.integration
TAGS = {"train": [["alpha", "train"]], "evaluate": [["alpha", "evaluate"]]}
FEATURES = 4  # age + three colours


@pytest.fixture(scope="module")
def project(worker: WorkerClient) -> str:
    """Project `exchange_alpha`, polled and aligned."""
    worker.prepare("exchange_alpha", TAGS)
    return "/exchange_alpha/e1"


def test_fit_carries_the_received_models_evaluate_loss(worker: WorkerClient,
                                                       project: str) -> None:
    run = project + "/plain"
    assert worker.initialise(run, binary_model(FEATURES), FEDAVG_RUN).status_code == 201
    weights = initial_weights(binary_model(FEATURES), seed=4)
    alone = worker.data(run + "/evaluate", weights, {"metas": ["evaluate"],
                                                     "statistics": False})
    _, header = worker.fit(run, weights, {"round": 1, "config": {}, "evaluate": True})
    assert header["evaluate"] == alone.json()["data"]["evaluate"]
    _, quiet = worker.fit(run, weights, {"round": 2, "config": {}})
    assert "evaluate" not in quiet
    wrong = worker.data(run + "/fit", weights, {"round": 3, "evaluate": "yes"})
    assert wrong.status_code == 422 and "evaluate" in wrong.text


def test_an_int8_run_exchanges_deltas_against_the_held_model(worker: WorkerClient,
                                                             project: str) -> None:
    run = project + "/int8"
    fields = {**FEDAVG_RUN, "update_compression": "int8"}
    assert worker.initialise(run, binary_model(FEATURES), fields).status_code == 201
    first = initial_weights(binary_model(FEATURES), seed=5)
    reply, header = worker.fit(run, first, {"round": 1, "config": {}})
    assert header["compression"]["mode"] == "int8"
    assert all(tensor.dtype == torch.int8 for tensor in reply.values())

    second = {name: tensor + 0.01 for name, tensor in first.items()}
    delta, entry = compress_update(second, first, "int8", {})
    _, header = worker.fit(run, delta, {"round": 2, "config": {}, "compression": entry,
                                        "base_round": 1})
    assert header["n_samples"] == 60

    stale = worker.data(run + "/fit", delta, {"round": 3, "config": {}, "compression": entry,
                                              "base_round": 1})
    assert stale.status_code == 409 and "holds round 2" in stale.text
