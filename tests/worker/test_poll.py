"""Preprocessing over HTTP: the poll lifecycle, cache invalidation, and tag errors."""

from __future__ import annotations

import os

import pytest

from tests.worker.conftest import WorkerClient
from tests.worker.fixture_data import CLASSIFY_SCHEMA, SLOW_DOCUMENTS, classify_csv

pytestmark = pytest.mark.integration


def test_poll_lifecycle_202_then_406_then_200(worker: WorkerClient) -> None:
    body = {"action": "classify", "tags": {"train": [["slow"]]}}
    started = worker.command("POST", "/worker/poll/slow", json=body)
    assert started.status_code == 202 and started.json()["data"] == {"status": "running"}
    again = worker.command("POST", "/worker/poll/slow", json=body)
    assert again.status_code == 202  # joins the running job
    running = worker.command("GET", "/worker/poll/slow")
    assert running.status_code == 406 and running.json()["success"] == 0
    response = worker.wait_for_poll("slow")
    assert response.status_code == 200
    train = response.json()["data"]["train"]
    assert train["metadata"]["datatype"] == "text"
    assert train["metadata"]["n_rows"] == SLOW_DOCUMENTS
    assert len(train["headers"]["X"]) == 500 and train["headers"]["y"] == ["target_0",
                                                                            "target_1"]
    assert set(train["summary"]) == set(train["headers"]["X"])
    assert "rows" not in train and "X" not in train  # aggregates only
    finished = [line for line in worker.service.log_tail(10_000_000).splitlines()
                if '"project_id": "slow"' in line and "preprocessing finished" in line]
    assert len(finished) == 1  # the second POST did not start a second job


def test_cached_poll_answers_200_and_a_data_change_is_recomputed(worker: WorkerClient) -> None:
    tags = {"train": [["mutable"]]}
    assert worker.poll("mutable", tags)["train"]["metadata"]["n_rows"] == 10
    cached = worker.command("POST", "/worker/poll/mutable",
                            json={"action": "classify", "tags": tags})
    assert cached.status_code == 200 and cached.json()["data"] == {"status": "ready"}
    csv_path = worker.home / "data" / "mutable" / "train" / "data.csv"
    csv_path.write_text(classify_csv(13))
    stat = csv_path.stat()
    os.utime(csv_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    answer = worker.poll("mutable", tags)
    assert answer["train"]["metadata"]["n_rows"] == 13


def test_get_before_any_poll_is_404(worker: WorkerClient) -> None:
    response = worker.command("GET", "/worker/poll/never_polled")
    assert response.status_code == 404
    assert "not been polled" in response.json()["message"]


@pytest.mark.parametrize(("tag", "status", "words"), [
    (["no_such_dataset"], 404, "no_such_dataset"),
    (["shared"], 409, "twins/one"),
])
def test_tag_errors_become_envelopes_on_get(worker: WorkerClient, tag: list[str], status: int,
                                            words: str) -> None:
    project_id = f"tags_{status}"
    started = worker.command("POST", f"/worker/poll/{project_id}",
                             json={"action": "classify", "tags": {"train": [tag]}})
    assert started.status_code == 202
    response = worker.wait_for_poll(project_id)
    body = response.json()
    assert response.status_code == status and body["success"] == 0
    assert words in body["message"]


@pytest.mark.parametrize("body", [
    {"action": "classify", "tags": {"train": [["..", "alpha"]]}},
    {"action": "classify", "tags": {"train": [["alpha/../../etc"]]}},
    {"action": "classify", "tags": {"train": "alpha"}},
    {"action": "classify", "tags": {"validation": [["alpha"]]}},
    {"action": "cluster", "tags": {"train": [["alpha", "train"]]}},
    {"tags": {"train": [["alpha", "train"]]}},
])
def test_unsafe_or_malformed_poll_bodies_are_400(worker: WorkerClient, body: dict) -> None:
    response = worker.command("POST", "/worker/poll/bad_body", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["success"] == 0 and response.json()["message"]


@pytest.mark.parametrize("project_id", ["%2e%2e", ".hidden", "-dash"])
def test_unsafe_project_ids_are_400(worker: WorkerClient, project_id: str) -> None:
    response = worker.command("POST", f"/worker/poll/{project_id}",
                              json={"action": "classify", "tags": {"train": [["alpha"]]}})
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == {"project_id": "not a plain name"}


def test_malformed_json_is_400(worker: WorkerClient) -> None:
    response = worker.command("POST", "/worker/poll/p", data=b"{not json",
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["success"] == 0


def test_schema_of_the_fixture_reaches_the_answer(worker: WorkerClient) -> None:
    answer = worker.poll("schema_check", {"train": [["alpha", "train"]]})
    assert answer["train"]["schema"] == CLASSIFY_SCHEMA
    assert answer["train"]["image_shape"] is None
