"""`/worker/align`: the TTP's alignment is checked against this Worker's headers, then stored."""

from __future__ import annotations

import json

import pytest

from tests.worker.conftest import WorkerClient, align_body

pytestmark = pytest.mark.integration
TAGS = {"train": [["alpha", "train"]], "evaluate": [["alpha", "evaluate"]]}


@pytest.fixture(scope="module")
def alpha_answer(worker: WorkerClient) -> dict:
    """The poll answer of project `align_alpha`."""
    return worker.poll("align_alpha", TAGS)


def test_a_valid_alignment_is_stored_with_spacers(worker: WorkerClient,
                                                  alpha_answer: dict) -> None:
    body = align_body(alpha_answer, other_columns=("height",))
    response = worker.align("align_alpha", body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    height = body["superset"]["X"].index("height")
    assert data["spacers"] == {"train": {"X": [height], "y": []},
                               "evaluate": {"X": [height], "y": []}}
    stored = json.loads((worker.home / "outputs" / "align_alpha" / "alignment.json").read_text())
    assert stored["superset"] == body["superset"]
    assert stored["scaling"]["columns"] == body["scaling"]["columns"]


def test_a_superset_missing_a_column_is_422(worker: WorkerClient, alpha_answer: dict) -> None:
    body = align_body(alpha_answer)
    body["superset"]["X"].remove("age")
    body["scaling"] = None
    body["spacers"] = {}
    response = worker.align("align_alpha", body)
    assert response.status_code == 422
    assert "age" in response.json()["errors"]["superset.X"]


def test_spacers_that_disagree_with_the_headers_are_422(worker: WorkerClient,
                                                        alpha_answer: dict) -> None:
    body = align_body(alpha_answer, other_columns=("height",))
    body["spacers"]["train"]["X"] = [0]
    response = worker.align("align_alpha", body)
    assert response.status_code == 422
    assert "spacers.train.X" in response.json()["errors"]


def test_spacers_for_a_meta_without_data_are_422(worker: WorkerClient,
                                                 alpha_answer: dict) -> None:
    body = align_body(alpha_answer)
    body["spacers"]["predict"] = {"X": [], "y": []}
    response = worker.align("align_alpha", body)
    assert response.status_code == 422
    assert "spacers.predict" in response.json()["errors"]


@pytest.mark.parametrize(("scaling", "field"), [
    ({"columns": ["age"], "shift": [1.0], "scale": [0.0]}, "scaling.scale"),
    ({"columns": ["age"], "shift": [1.0, 2.0], "scale": [1.0]}, "scaling"),
    ({"columns": ["weight"], "shift": [1.0], "scale": [1.0]}, "scaling.columns"),
    ({"columns": ["age"], "shift": ["x"], "scale": [1.0]}, "scaling.shift"),
])
def test_bad_scaling_is_422(worker: WorkerClient, alpha_answer: dict, scaling: dict,
                            field: str) -> None:
    body = {**align_body(alpha_answer), "scaling": scaling}
    response = worker.align("align_alpha", body)
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_align_before_poll_is_404(worker: WorkerClient) -> None:
    response = worker.align("never_polled_align", {"superset": {"X": [], "y": []}})
    assert response.status_code == 404


def test_a_malformed_superset_is_422(worker: WorkerClient, alpha_answer: dict) -> None:
    response = worker.align("align_alpha", {"superset": {"X": "age", "y": [1]}})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"superset.X", "superset.y"}
