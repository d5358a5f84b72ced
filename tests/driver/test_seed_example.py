"""The README example of the seeds runs unchanged and sends exactly the expected requests."""

from __future__ import annotations

import pytest

from synergos import Driver
from tests.driver.fake_ttp import FakeTTP

C = "/ttp/connect"
MODEL = [{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
          "structure": {"bias": True, "in_features": 15, "out_features": 1}}]
TRAIN_TAGS_1 = [["non_iid_1"], ["edge_test_missing_coecerable_vals"], ["edge_test_misalign"],
                ["edge_test_na_slices"]]


def run_seed_example(host: str, port: int) -> dict:
    """The seeds' example, call for call (only host and port point at the test server)."""
    driver = Driver(host=host, port=port)
    driver.projects.create(
        project_id="test_project",
        action="classify",
        incentives={"tier_1": [], "tier_2": [], "tier_3": []},
    )
    driver.experiments.create(
        project_id="test_project",
        expt_id="test_experiment",
        model=[{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
                "structure": {"bias": True, "in_features": 15, "out_features": 1}}],
    )
    driver.runs.create(
        project_id="test_project", expt_id="test_experiment", run_id="test_run",
        rounds=2, epochs=1, base_lr=0.0005, max_lr=0.005, criterion="NLLLoss",
    )
    driver.participants.create(participant_id="test_participant_1", host="172.17.0.2",
                               port=8020, f_port=5000, log_msgs=True, verbose=True)
    driver.participants.create(participant_id="test_participant_2", host="172.17.0.3",
                               port=8020, f_port=5000, log_msgs=True, verbose=True)
    driver.registrations.create(project_id="test_project",
                                participant_id="test_participant_1", role="guest")
    driver.registrations.create(project_id="test_project",
                                participant_id="test_participant_2", role="host")
    driver.tags.create(project_id="test_project", participant_id="test_participant_1",
                       train=[["non_iid_1"], ["edge_test_missing_coecerable_vals"],
                              ["edge_test_misalign"], ["edge_test_na_slices"]],
                       evaluate=[["iid_1"]])
    driver.tags.create(project_id="test_project", participant_id="test_participant_2",
                       train=[["non_iid_2"]])
    driver.alignments.create(project_id="test_project")
    model_resp = driver.models.create(project_id="test_project", expt_id="test_experiment",
                                      run_id="test_run")
    driver.validations.create(project_id="test_project", expt_id="test_experiment",
                              run_id="test_run")
    driver.predictions.create(tags={"test_project": [["iid_1"]]},
                              participant_id="test_participant_1",
                              project_id="test_project", expt_id="test_experiment",
                              run_id="test_run")
    return model_resp


def participant_body(participant_id: str, host: str) -> dict:
    return {"participant_id": participant_id, "host": host, "port": 8020, "f_port": 5000,
            "log_msgs": True, "verbose": True}


def registration(participant_id: str) -> str:
    return f"{C}/participants/{participant_id}/projects/test_project/registration"


MODELS = "/ttp/train/projects/test_project/models/test_experiment/test_run"
VALIDATIONS = "/ttp/evaluate/projects/test_project/validations/test_experiment/test_run"
PREDICTIONS = ("/ttp/evaluate/participants/test_participant_1/predictions/test_project/"
               "test_experiment/test_run")
EXPECTED_CALLS = [
    ("POST", f"{C}/projects", {"project_id": "test_project", "action": "classify",
                               "incentives": {"tier_1": [], "tier_2": [], "tier_3": []}}),
    ("POST", f"{C}/projects/test_project/experiments",
     {"project_id": "test_project", "expt_id": "test_experiment", "model": MODEL}),
    ("POST", f"{C}/projects/test_project/experiments/test_experiment/runs",
     {"project_id": "test_project", "expt_id": "test_experiment", "run_id": "test_run",
      "rounds": 2, "epochs": 1, "criterion": "NLLLoss", "base_lr": 0.0005, "max_lr": 0.005}),
    ("POST", f"{C}/participants", participant_body("test_participant_1", "172.17.0.2")),
    ("POST", f"{C}/participants", participant_body("test_participant_2", "172.17.0.3")),
    ("POST", registration("test_participant_1"),
     {"project_id": "test_project", "participant_id": "test_participant_1", "role": "guest"}),
    ("POST", registration("test_participant_2"),
     {"project_id": "test_project", "participant_id": "test_participant_2", "role": "host"}),
    ("POST", registration("test_participant_1") + "/tags",
     {"project_id": "test_project", "participant_id": "test_participant_1",
      "train": TRAIN_TAGS_1, "evaluate": [["iid_1"]]}),
    ("POST", registration("test_participant_2") + "/tags",
     {"project_id": "test_project", "participant_id": "test_participant_2",
      "train": [["non_iid_2"]]}),
    ("POST", "/ttp/train/projects/test_project/alignments", {}),
    ("GET", "/ttp/jobs/job-1", None),
    ("GET", "/ttp/train/projects/test_project/alignments", None),
    ("POST", MODELS, {}),
    ("GET", "/ttp/jobs/job-2", None),
    ("GET", MODELS, None),
    ("POST", VALIDATIONS, {}),
    ("GET", "/ttp/jobs/job-3", None),
    ("GET", VALIDATIONS, None),
    ("POST", PREDICTIONS, {"tags": {"test_project": [["iid_1"]]}}),
    ("GET", "/ttp/jobs/job-4", None),
    ("GET", PREDICTIONS, None),
]


def test_seed_example_sends_the_expected_requests(
    fake_ttp: FakeTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNERGOS_TOKEN", raising=False)
    model_resp = run_seed_example("127.0.0.1", fake_ttp.port)
    assert fake_ttp.calls() == EXPECTED_CALLS
    assert all("authorization" not in r.headers for r in fake_ttp.requests)
    # models.create waited for its job and returned the GET of the trained combination
    assert model_resp["data"] == {"echo": None, "path": MODELS}
