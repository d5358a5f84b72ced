"""Run lifecycle over real HTTP: initialise, fit, evaluate, predict, terminate, several runs."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import torch

from synalgo.codec import decode
from synalgo.metrics import PER_CLASS_KEYS
from tests.worker.conftest import WorkerClient
from tests.worker.fixture_data import IMAGE_SIDE
from tests.worker.models import (
    FEDAVG_RUN,
    REGRESS_RUN,
    binary_model,
    image_model,
    initial_weights,
    regression_model,
)

pytestmark = pytest.mark.integration
ALPHA_TAGS = {"train": [["alpha", "train"]], "evaluate": [["alpha", "evaluate"]],
              "predict": [["alpha", "predict"]]}
BETA_TAGS = {"train": [["beta", "train"]], "evaluate": [["beta", "evaluate"]]}
ALPHA_FEATURES = 4  # age + three colours
BETA_FEATURES = 5  # age, height + three colours
RUN = "/runs_alpha/e1/r1"


@pytest.fixture(scope="module")
def alpha_run(worker: WorkerClient) -> str:
    """Project `runs_alpha` polled, aligned and initialised as run e1/r1."""
    worker.prepare("runs_alpha", ALPHA_TAGS)
    response = worker.initialise(RUN, binary_model(ALPHA_FEATURES), FEDAVG_RUN)
    assert response.status_code == 201, response.text
    assert response.json()["data"] == {
        "metas": {"train": {"n_samples": 60}, "evaluate": {"n_samples": 20},
                  "predict": {"n_samples": 15}},
        "n_classes": 2}
    return RUN


def test_initialising_a_live_run_again_is_200(worker: WorkerClient, alpha_run: str) -> None:
    response = worker.initialise(alpha_run, binary_model(ALPHA_FEATURES), FEDAVG_RUN)
    assert response.status_code == 200
    assert response.json()["data"]["metas"]["train"] == {"n_samples": 60}


def test_fit_returns_trained_weights_of_the_same_shapes(worker: WorkerClient,
                                                        alpha_run: str) -> None:
    sent = initial_weights(binary_model(ALPHA_FEATURES))
    weights, header = worker.fit(alpha_run, sent, {"round": 0, "config": {"seed": 3}})
    assert {name: t.shape for name, t in weights.items()} == \
        {name: t.shape for name, t in sent.items()}
    assert not torch.equal(weights["nnl_0_linear.weight"], sent["nnl_0_linear.weight"])
    assert header["n_samples"] == 60 and header["epochs_run"] == FEDAVG_RUN["epochs"]
    assert math.isfinite(header["loss"]) and len(header["loss_history"]) == header["epochs_run"]
    assert header["loss_history"][-1] < header["loss_history"][0]


def test_parallel_fits_of_one_run_do_not_interleave(worker: WorkerClient,
                                                    alpha_run: str) -> None:
    sent = initial_weights(binary_model(ALPHA_FEATURES), seed=5)
    header = {"round": 1, "config": {"seed": 11}}
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: worker.fit(alpha_run, sent, header), range(3)))
    first_weights, first_header = results[0]
    for weights, answer in results[1:]:
        assert answer == first_header
        assert all(torch.equal(weights[name], first_weights[name]) for name in weights)


def test_evaluate_reports_the_reference_statistics(worker: WorkerClient,
                                                   alpha_run: str) -> None:
    weights, _ = worker.fit(alpha_run, initial_weights(binary_model(ALPHA_FEATURES)),
                            {"round": 0, "config": {"seed": 3}})
    response = worker.data(alpha_run + "/evaluate", weights, {"metas": ["evaluate", "predict"]})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"evaluate", "predict"}
    evaluation = data["evaluate"]
    assert evaluation["n_samples"] == 20 and math.isfinite(evaluation["loss"])
    statistics = evaluation["statistics"]
    assert set(PER_CLASS_KEYS) <= set(statistics)
    assert all(len(statistics[key]) == 2 for key in PER_CLASS_KEYS)
    assert sum(statistics["TPs"]) + sum(statistics["FPs"]) == 20


def test_evaluate_without_statistics_answers_the_same_loss_only(worker: WorkerClient,
                                                                 alpha_run: str) -> None:
    weights = initial_weights(binary_model(ALPHA_FEATURES), seed=8)
    full = worker.data(alpha_run + "/evaluate", weights, {"metas": ["evaluate"]})
    lean = worker.data(alpha_run + "/evaluate", weights,
                       {"metas": ["evaluate"], "statistics": False})
    assert full.status_code == lean.status_code == 200, lean.text
    assert "statistics" in full.json()["data"]["evaluate"]
    assert lean.json()["data"] == {"evaluate": {
        "loss": full.json()["data"]["evaluate"]["loss"], "n_samples": 20}}
    wrong = worker.data(alpha_run + "/evaluate", weights, {"statistics": "no"})
    assert wrong.status_code == 422 and "statistics" in wrong.text


def test_predict_writes_predictions_and_statistics(worker: WorkerClient,
                                                   alpha_run: str) -> None:
    weights = initial_weights(binary_model(ALPHA_FEATURES))
    response = worker.data(alpha_run + "/predict", weights, {"meta": "predict"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    run_dir = worker.home / "outputs" / "runs_alpha" / "e1" / "r1"
    assert data["n_samples"] == 15
    assert data["res_path"] == str(run_dir / "statistics_predict.json")
    frame = pd.read_csv(run_dir / "predictions_predict.csv")
    assert list(frame.columns) == ["row", "y_pred", "proba_0", "proba_1",
                                   "unscored_reason"] and len(frame) == 15
    assert frame["row"].tolist() == list(range(15))
    assert set(frame["y_pred"]) <= {0, 1} and frame["proba_1"].between(0, 1).all()
    assert ((frame["proba_0"] + frame["proba_1"]) - 1).abs().max() < 1e-6
    assert data["n_rows"] == 15 and data["n_labeled"] == 15 and data["warnings"] == {}
    listed = worker.command("GET", "/worker/predict" + alpha_run)
    assert listed.status_code == 200
    assert listed.json()["data"]["predict"]["statistics"] == data["statistics"]


def test_two_projects_keep_their_own_data(worker: WorkerClient) -> None:
    worker.prepare("runs_beta", BETA_TAGS)
    worker.prepare("runs_alpha_two", ALPHA_TAGS)
    runs = {"/runs_beta/e1/r1": BETA_FEATURES, "/runs_alpha_two/e2/r9": ALPHA_FEATURES}
    for path, features in runs.items():
        assert worker.initialise(path, binary_model(features), FEDAVG_RUN).status_code == 201

    def fit(item: tuple[str, int]) -> tuple[dict, dict]:
        path, features = item
        return worker.fit(path, initial_weights(binary_model(features)), {"round": 0})

    with ThreadPoolExecutor(2) as pool:
        (beta_weights, beta), (alpha_weights, alpha) = pool.map(fit, runs.items())
    assert beta["n_samples"] == 25 and alpha["n_samples"] == 60
    assert beta_weights["nnl_0_linear.weight"].shape == (1, BETA_FEATURES)
    assert alpha_weights["nnl_0_linear.weight"].shape == (1, ALPHA_FEATURES)
    for path in runs:
        assert worker.command("POST", "/worker/terminate" + path).status_code == 200


def test_terminate_then_fit_is_404(worker: WorkerClient) -> None:
    worker.prepare("runs_short", {"train": [["alpha", "train"]]})
    path = "/runs_short/e1/r1"
    assert worker.initialise(path, binary_model(ALPHA_FEATURES), FEDAVG_RUN).status_code == 201
    terminated = worker.command("POST", "/worker/terminate" + path)
    assert terminated.status_code == 200 and terminated.json()["data"] == {"was_live": True}
    response = worker.data(path + "/fit", initial_weights(binary_model(ALPHA_FEATURES)), {})
    assert response.status_code == 404 and "initialise" in response.json()["message"]
    again = worker.command("POST", "/worker/terminate" + path)
    assert again.json()["data"] == {"was_live": False}


def test_regression_run_reports_regression_statistics(worker: WorkerClient) -> None:
    tags = {"train": [["gamma", "train"]], "evaluate": [["gamma", "evaluate"]]}
    worker.prepare("runs_gamma", tags, action="regress")
    path = "/runs_gamma/e1/r1"
    response = worker.initialise(path, regression_model(2), REGRESS_RUN, action="regress")
    assert response.status_code == 201 and response.json()["data"]["n_classes"] == 1
    weights, header = worker.fit(path, initial_weights(regression_model(2)), {"round": 0})
    assert header["n_samples"] == 40 and math.isfinite(header["loss"])
    evaluated = worker.data(path + "/evaluate", weights, {"metas": ["evaluate"]})
    statistics = evaluated.json()["data"]["evaluate"]["statistics"]
    assert {"R2", "MSE", "MAE"} <= set(statistics) and statistics["n_samples"] == 12


def test_images_are_shaped_for_convolutions(worker: WorkerClient) -> None:
    worker.prepare("runs_pictures", {"train": [["pictures", "train"]]})
    path = "/runs_pictures/e1/r1"
    spec = image_model(IMAGE_SIDE)
    response = worker.initialise(path, spec, {**FEDAVG_RUN, "epochs": 2})
    assert response.status_code == 201, response.text
    weights, header = worker.fit(path, initial_weights(spec), {"round": 0})
    assert header["n_samples"] == 8
    assert weights["nnl_0_conv2d.weight"].shape == (2, 1, 2, 2)


def test_fedgkt_client_keeps_its_model_on_the_worker(worker: WorkerClient) -> None:
    worker.prepare("runs_gkt", {"train": [["alpha", "train"]],
                                "evaluate": [["alpha", "evaluate"]]})
    path = "/runs_gkt/e1/r1"
    spec = [{"is_input": True, "l_type": "Linear",
             "structure": {"in_features": ALPHA_FEATURES, "out_features": 3},
             "activation": "relu"},
            {"is_input": False, "l_type": "Linear", "structure": {"in_features": 3,
                                                                  "out_features": 1},
             "activation": "sigmoid"}]
    run = {"algorithm": "FedGKT", "L": 1, "allow_label_sharing": True, "epochs": 2,
           "criterion": "CrossEntropyLoss", "lr_scheduler": None}
    assert worker.initialise(path, spec, run).status_code == 201
    server_state = {"nnl_0_linear.weight": torch.zeros(2, 3), "nnl_0_linear.bias": torch.zeros(2)}
    before_fit = worker.data(path + "/evaluate", server_state, {"metas": ["evaluate"]})
    assert before_fit.status_code == 409 and "fit it first" in before_fit.json()["message"]
    payload, header = worker.fit(path, {}, {"round": 0, "config": {"seed": 1}})
    assert header["n_samples"] == 60
    assert set(payload) == {"features", "logits", "labels"}
    assert payload["features"].shape == (60, 3) and payload["logits"].shape == (60, 2)
    response = worker.data(path + "/fit", {"server_logits": torch.zeros(60, 2)},
                           {"round": 1, "config": {"seed": 2}})
    assert response.status_code == 200
    assert decode(response.content)[1]["n_samples"] == 60
    evaluated = worker.data(path + "/evaluate", server_state, {"metas": ["evaluate"]})
    assert evaluated.status_code == 200, evaluated.text
    statistics = evaluated.json()["data"]["evaluate"]["statistics"]
    # the client model survives terminate: a fresh initialise evaluates it unchanged
    assert worker.command("POST", "/worker/terminate" + path).status_code == 200
    assert worker.initialise(path, spec, run).status_code == 201
    again = worker.data(path + "/evaluate", server_state, {"metas": ["evaluate"]})
    assert again.status_code == 200
    assert again.json()["data"]["evaluate"]["statistics"] == statistics


def test_a_run_logs_its_fits_once_at_its_end(worker: WorkerClient) -> None:
    import json

    worker.prepare("runs_logged", {"train": [["alpha", "train"]]})
    path = "/runs_logged/e1/r1"
    assert worker.initialise(path, binary_model(ALPHA_FEATURES), FEDAVG_RUN).status_code == 201
    for round_number in range(3):
        worker.fit(path, initial_weights(binary_model(ALPHA_FEATURES)),
                   {"round": round_number, "config": {}})
    assert worker.command("POST", "/worker/terminate" + path).status_code == 200
    events = [json.loads(line) for line in worker.service.log_path.read_text().splitlines()
              if line.startswith("{") and "runs_logged" in line]
    ended = [event for event in events if event["message"] == "run terminated"]
    assert len(ended) == 1 and ended[0]["fits"] == 3 and ended[0]["fit_seconds"] > 0
    assert not [event for event in events if event["message"] == "local fit finished"]
