"""Prediction data without labels on a real Worker, as the TTP drives it: image, text and
tabular folders with no target column or an empty one, row ids, unscored rows, class
probabilities and regression predictions; the predictions CSV served to the token holder."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
import torch
from PIL import Image

from tests.datasets.builders import write_tabular, write_text
from tests.worker.conftest import WorkerClient, align_body
from tests.worker.fixture_data import IMAGE_SIDE, REGRESS_SCHEMA
from tests.worker.models import FEDAVG_RUN, REGRESS_RUN, image_model, initial_weights

pytestmark = pytest.mark.integration
NLL_RUN = {**FEDAVG_RUN, "criterion": "NLLLoss"}


def predict_csv(worker: WorkerClient, project_id: str, tags: dict[str, Any],
                model: list[dict[str, Any]], run: dict[str, Any], action: str = "classify",
                weights: dict[str, torch.Tensor] | None = None) -> tuple[dict, pd.DataFrame]:
    """Poll, align, initialise and predict; returns the summary and the served CSV."""
    worker.prepare(project_id, tags, action)
    route = f"/{project_id}/e/r"
    response = worker.initialise(route, model, run, action)
    assert response.status_code == 201, response.text
    response = worker.data(route + "/predict", weights or initial_weights(model),
                           {"meta": "predict"})
    assert response.status_code == 200, response.text
    served = worker.command("GET", f"/worker/predictions{route}")
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(served.text), dtype=str, keep_default_na=False)
    return response.json()["data"], frame


def assert_probabilities(frame: pd.DataFrame, labels: list[str]) -> None:
    """proba_<label> columns sum to 1 on scored rows and y_pred is the most probable label."""
    scored = frame[frame["unscored_reason"] == ""]
    probabilities = scored[[f"proba_{label}" for label in labels]].astype(float)
    assert (probabilities.sum(axis=1) - 1).abs().max() < 1e-6
    assert scored["y_pred"].tolist() == [labels[k] for k in probabilities.to_numpy().argmax(1)]


def write_image_predict(folder: Path, names: list[str], target: bool) -> None:
    """Image prediction data: `names` listed in mapping.csv (a name ending in `gone` has no
    file), with an empty target column or none."""
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps({"datatype": "image"}))
    rng = np.random.default_rng(3)
    for name in names:
        if "gone" not in name:
            pixels = rng.integers(0, 255, (IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name)
    lines = ["image,target" if target else "image"]
    lines += [f"{name}," if target else name for name in names]
    (folder / "mapping.csv").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("target", [False, True], ids=["no_target", "empty_target"])
def test_images_without_labels_are_predicted_with_file_names(worker: WorkerClient,
                                                             target: bool) -> None:
    name = f"unlabeled_images_{target}"
    names = ["c.png", "a.png", "gone.png", "b.png"]
    write_image_predict(worker.home / "data" / name / "predict", names, target)
    tags = {"train": [["pictures", "train"]], "predict": [[name, "predict"]]}
    summary, frame = predict_csv(worker, f"img_{target}", tags, image_model(IMAGE_SIDE),
                                 FEDAVG_RUN)
    assert frame["image"].tolist() == names  # one line per mapping row, in order
    assert list(frame.columns) == ["image", "y_pred", "proba_0", "proba_1", "unscored_reason"]
    gone = frame[frame["image"] == "gone.png"].iloc[0]
    assert "gone.png" in gone["unscored_reason"] and "does not exist" in gone["unscored_reason"]
    assert gone["y_pred"] == "" and gone["proba_0"] == ""
    assert_probabilities(frame, ["0", "1"])
    assert summary["n_rows"] == 4 and summary["n_scored"] == 3 and summary["n_unscored"] == 1
    assert summary["n_labeled"] == 0 and summary["statistics"] is None
    assert summary["warnings"] == {"unscored_rows": 1}


def write_text_predict(folder: Path, documents: list[str], target: bool) -> None:
    """Text prediction data named by a `doc` id column, with an empty target or none."""
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps({"datatype": "text", "id_column": "doc"}))
    frame = pd.DataFrame({"doc": [f"d{index}" for index in range(len(documents))][::-1],
                          "text": documents})
    if target:
        frame["target"] = ""
    frame.to_csv(folder / "docs.csv", index=False)


@pytest.mark.parametrize("target", [False, True], ids=["no_target", "empty_target"])
def test_text_without_labels_is_predicted_with_its_id_column(worker: WorkerClient,
                                                             target: bool) -> None:
    name = f"unlabeled_text_{target}"
    corpus = [("great film lovely acting", "pos"), ("awful boring film", "neg")] * 10
    write_text(worker.home / "data" / name / "train", corpus)
    documents = ["lovely acting", "boring plot", "", "great great film"]
    write_text_predict(worker.home / "data" / name / "predict", documents, target)
    tags = {"train": [[name, "train"]], "predict": [[name, "predict"]]}
    answer = worker.poll(f"txt_{target}", tags)
    n_features = len(align_body(answer)["superset"]["X"])
    model = [{"is_input": True, "l_type": "Linear", "activation": "log_softmax",
              "structure": {"in_features": n_features, "out_features": 2}}]
    summary, frame = predict_csv(worker, f"txt_{target}", tags, model, NLL_RUN)
    assert frame["doc"].tolist() == ["d3", "d2", "d1", "d0"]
    assert list(frame.columns) == ["doc", "y_pred", "proba_neg", "proba_pos", "unscored_reason"]
    assert_probabilities(frame, ["neg", "pos"])
    assert summary["n_rows"] == 4 and summary["n_labeled"] == 0


@pytest.mark.parametrize("target", [False, True], ids=["no_target", "empty_target"])
def test_regression_predictions_are_in_the_targets_units_with_row_numbers(
        worker: WorkerClient, target: bool) -> None:
    name = f"unlabeled_regress_{target}"
    write_tabular(worker.home / "data" / name / "train",
                  "x1,x2,target\n" + "".join(f"{i % 7},{i % 5},{2 * (i % 7) - i % 5}\n"
                                             for i in range(30)), REGRESS_SCHEMA)
    rows = "".join(f"{i},{i + 1}{',' if target else ''}\n" for i in range(5))
    write_tabular(worker.home / "data" / name / "predict",
                  ("x1,x2,target\n" if target else "x1,x2\n") + rows, REGRESS_SCHEMA)
    model = [{"is_input": True, "l_type": "Linear", "activation": None,
              "structure": {"in_features": 2, "out_features": 1}}]
    weights = {"nnl_0_linear.weight": torch.zeros(1, 2), "nnl_0_linear.bias": torch.tensor([7.5])}
    summary, frame = predict_csv(worker, f"reg_{target}", {
        "train": [[name, "train"]], "predict": [[name, "predict"]]}, model, REGRESS_RUN,
        action="regress", weights=weights)
    assert list(frame.columns) == ["row", "y_pred", "unscored_reason"]
    assert frame["row"].tolist() == ["0", "1", "2", "3", "4"]
    assert frame["y_pred"].astype(float).tolist() == [7.5] * 5
    assert summary["n_labeled"] == 0 and summary["statistics"] is None


def test_predictions_csv_needs_the_token_and_an_existing_file(worker: WorkerClient) -> None:
    missing = worker.command("GET", "/worker/predictions/no_project/e/r")
    assert missing.status_code == 404 and "no 'predict' predictions" in missing.json()["message"]
    bad_meta = worker.command("GET", "/worker/predictions/no_project/e/r?meta=everything")
    assert bad_meta.status_code == 400
    stranger = requests.get(worker.command_url + "/worker/predictions/no_project/e/r",
                            headers={"Authorization": "Bearer wrong-token-0123456789"},
                            timeout=30)
    assert stranger.status_code == 401
