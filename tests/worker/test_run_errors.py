"""Bad input on initialise and on the data port gets clear 4xx envelopes, never a 500."""

from __future__ import annotations

import pytest
import requests
import torch

from synalgo.codec import encode
from tests.worker.conftest import BINARY, MAX_BODY_BYTES, WorkerClient
from tests.worker.models import FEDAVG_RUN, binary_model, initial_weights

pytestmark = pytest.mark.integration
TAGS = {"train": [["alpha", "train"]], "evaluate": [["alpha", "evaluate"]]}
RUN = "/errors_alpha/e1/r1"


@pytest.fixture(scope="module")
def live_run(worker: WorkerClient) -> str:
    """Project `errors_alpha` prepared and initialised as run e1/r1."""
    worker.prepare("errors_alpha", TAGS)
    assert worker.initialise(RUN, binary_model(4), FEDAVG_RUN).status_code == 201
    return RUN


def test_initialise_before_poll_is_404(worker: WorkerClient) -> None:
    response = worker.initialise("/never_polled_init/e/r", binary_model(4), FEDAVG_RUN)
    assert response.status_code == 404


def test_initialise_before_align_is_409(worker: WorkerClient) -> None:
    worker.poll("errors_unaligned", TAGS)
    response = worker.initialise("/errors_unaligned/e/r", binary_model(4), FEDAVG_RUN)
    assert response.status_code == 409 and "align" in response.json()["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"participant_id": "w", "action": "classify", "model": [], "run": {}}, "model"),
    ({"participant_id": "w", "action": "classify", "model": binary_model(4),
      "run": {"optimizer": "NoSuchOptimizer"}}, "run.optimizer"),
    ({"participant_id": "w", "action": "regress", "model": binary_model(4), "run": {}},
     "action"),
    ({"action": "classify", "model": binary_model(4), "run": {}}, "participant_id"),
    ({"participant_id": "w", "action": "classify", "model": binary_model(9), "run": {}},
     "model"),
])
def test_invalid_initialise_bodies_are_422(worker: WorkerClient, live_run: str, body: dict,
                                           field: str) -> None:
    response = worker.command("POST", "/worker/initialise/errors_alpha/e1/other", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


def test_garbage_body_is_400(worker: WorkerClient, live_run: str) -> None:
    response = worker.session.post(f"{worker.data_url}/data{live_run}/fit",
                                   data=b"\x00" * 64 + b"not a tensor payload", headers=BINARY,
                                   timeout=30)
    assert response.status_code == 400 and response.json()["success"] == 0
    empty = worker.session.post(f"{worker.data_url}/data{live_run}/evaluate", timeout=30)
    assert empty.status_code == 400


def test_weights_that_do_not_fit_the_model_are_422(worker: WorkerClient, live_run: str) -> None:
    weights = initial_weights(binary_model(4))
    weights["nnl_0_linear.weight"] = torch.zeros(1, 7)
    response = worker.data(live_run + "/fit", weights, {"round": 0})
    assert response.status_code == 422
    assert "shape" in response.json()["errors"]["weights.nnl_0_linear.weight"]
    missing = worker.data(live_run + "/evaluate", {"other": torch.zeros(1)}, {})
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"weights.nnl_0_linear.weight",
                                             "weights.nnl_0_linear.bias", "weights.other"}
    weights = initial_weights(binary_model(4))
    weights["nnl_0_linear.bias"] = torch.tensor([float("nan")])
    assert worker.data(live_run + "/fit", weights, {}).status_code == 422
    weights = initial_weights(binary_model(4))
    weights["nnl_0_linear.weight"][0, 2] = float("-inf")
    infinite = worker.data(live_run + "/fit", weights, {})
    assert infinite.status_code == 422
    assert "non-finite" in infinite.json()["errors"]["weights.nnl_0_linear.weight"]


def test_bad_headers_are_422(worker: WorkerClient, live_run: str) -> None:
    weights = initial_weights(binary_model(4))
    assert worker.data(live_run + "/fit", weights, {"config": [1]}).status_code == 422
    assert worker.data(live_run + "/evaluate", weights, {"metas": ["x"]}).status_code == 422
    assert worker.data(live_run + "/predict", weights, {"meta": "x"}).status_code == 422
    no_data = worker.data(live_run + "/predict", weights, {"meta": "predict"})
    assert no_data.status_code == 404 and "predict" in no_data.json()["message"]


def test_a_body_over_the_limit_is_413(worker: WorkerClient, live_run: str) -> None:
    big = {"filler": torch.zeros(MAX_BODY_BYTES // 4 + 1024)}
    response = worker.session.post(f"{worker.data_url}/data{live_run}/fit",
                                   data=encode(big, {}), headers=BINARY, timeout=60)
    assert response.status_code == 413 and response.json()["success"] == 0


def test_unknown_run_on_the_data_port_is_404(worker: WorkerClient) -> None:
    response = worker.data("/nobody/e/r/evaluate", initial_weights(binary_model(4)), {})
    assert response.status_code == 404


def test_unsafe_run_ids_are_400(worker: WorkerClient) -> None:
    response = worker.command("POST", "/worker/terminate/p/%2e%2e/r")
    assert response.status_code == 400
    response = requests.get(f"{worker.command_url}/worker/predict/p/e/.r",
                            headers=worker.session.headers, timeout=30)
    assert response.status_code == 400


def test_coalitions_route_measures_each_model_and_refuses_bad_bodies(
        worker: WorkerClient, live_run: str) -> None:
    first, second = initial_weights(binary_model(4), seed=1), initial_weights(binary_model(4),
                                                                               seed=2)
    models = {f"{k}/{name}": tensor for k, weights in enumerate((first, second, first))
              for name, tensor in weights.items()}
    answer = worker.data(live_run + "/coalitions", models, {"models": 3})
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["metric"] == "accuracy" and data["n_samples"] > 0
    assert len(data["values"]) == 3 and data["values"][0] == data["values"][2]
    assert all(0.0 <= value <= 1.0 for value in data["values"])
    too_many = worker.data(live_run + "/coalitions", models, {"models": 257})
    assert too_many.status_code == 422 and "models" in too_many.json()["errors"]
    stray = worker.data(live_run + "/coalitions", {**models, "x/w": torch.zeros(1)},
                        {"models": 3})
    assert stray.status_code == 422 and "weights.x/w" in stray.json()["errors"]
    wrong_metric = worker.data(live_run + "/coalitions", models, {"models": 3, "metric": "R2"})
    assert wrong_metric.status_code == 422 and "metric" in wrong_metric.json()["errors"]
    short = worker.data(live_run + "/coalitions", models, {"models": 2})
    assert short.status_code == 422  # model 2's tensors name an index past the count
