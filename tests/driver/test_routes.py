"""Every verb of every resource sends the right method, URL and body (table-driven)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from synergos import Driver
from tests.driver.fake_ttp import FakeTTP

C = "/ttp/connect"
T = "/ttp/train"
E = "/ttp/evaluate"
P = f"{C}/projects/p1"
EX = f"{P}/experiments/e1"
RUN = f"{EX}/runs/r1"
REG = f"{C}/participants/w1/projects/p1/registration"
LAYERS = [{"is_input": True, "l_type": "Linear", "structure": {"in_features": 4,
                                                              "out_features": 1},
           "activation": "sigmoid"}]
NO_WAIT = {"wait": False, "progress": False}

Call = Callable[[Driver], Any]
# (id, call, method, path, body)
CASES: list[tuple[str, Call, str, str, Any]] = [
    # projects
    ("projects.create", lambda d: d.projects.create(project_id="p1", action="classify",
                                                    incentives={"tier_1": []}),
     "POST", f"{C}/projects",
     {"project_id": "p1", "action": "classify", "incentives": {"tier_1": []}}),
    ("projects.create.minimal+extra", lambda d: d.projects.create("p1", start_at="2024"),
     "POST", f"{C}/projects", {"project_id": "p1", "start_at": "2024"}),
    ("projects.read_all", lambda d: d.projects.read_all(), "GET", f"{C}/projects", None),
    ("projects.read", lambda d: d.projects.read("p1"), "GET", P, None),
    ("projects.update", lambda d: d.projects.update("p1", action="regress"),
     "PUT", P, {"action": "regress"}),
    ("projects.delete", lambda d: d.projects.delete("p1"), "DELETE", P, None),
    # experiments
    ("experiments.create", lambda d: d.experiments.create("p1", "e1", model=LAYERS),
     "POST", f"{P}/experiments", {"project_id": "p1", "expt_id": "e1", "model": LAYERS}),
    ("experiments.read_all", lambda d: d.experiments.read_all("p1"),
     "GET", f"{P}/experiments", None),
    ("experiments.read", lambda d: d.experiments.read("p1", "e1"), "GET", EX, None),
    ("experiments.update", lambda d: d.experiments.update("p1", "e1", model=[]),
     "PUT", EX, {"model": []}),
    ("experiments.delete", lambda d: d.experiments.delete("p1", "e1"), "DELETE", EX, None),
    # runs
    ("runs.create", lambda d: d.runs.create(project_id="p1", expt_id="e1", run_id="r1",
                                            rounds=2, epochs=1, base_lr=0.0005, max_lr=0.005,
                                            criterion="NLLLoss"),
     "POST", f"{EX}/runs",
     {"project_id": "p1", "expt_id": "e1", "run_id": "r1", "rounds": 2, "epochs": 1,
      "criterion": "NLLLoss", "base_lr": 0.0005, "max_lr": 0.005}),
    ("runs.create.no_scheduler", lambda d: d.runs.create("p1", "e1", "r1", lr_scheduler=None,
                                                         batch_size=None),
     "POST", f"{EX}/runs",  # None asks for no scheduler; batch_size None is the default
     {"project_id": "p1", "expt_id": "e1", "run_id": "r1", "lr_scheduler": None}),
    ("runs.read_all", lambda d: d.runs.read_all("p1", "e1"), "GET", f"{EX}/runs", None),
    ("runs.read", lambda d: d.runs.read("p1", "e1", "r1"), "GET", RUN, None),
    ("runs.update", lambda d: d.runs.update("p1", "e1", "r1", rounds=5, batch_size=None),
     "PUT", RUN, {"rounds": 5, "batch_size": None}),
    ("runs.delete", lambda d: d.runs.delete("p1", "e1", "r1"), "DELETE", RUN, None),
    # participants
    ("participants.create", lambda d: d.participants.create(
        participant_id="w1", host="10.0.0.2", port=8020, f_port=5000, log_msgs=True,
        verbose=False, token="worker-secret"),
     "POST", f"{C}/participants",
     {"participant_id": "w1", "host": "10.0.0.2", "port": 8020, "f_port": 5000,
      "log_msgs": True, "verbose": False, "token": "worker-secret"}),
    ("participants.create.minimal", lambda d: d.participants.create("w1", "10.0.0.2"),
     "POST", f"{C}/participants", {"participant_id": "w1", "host": "10.0.0.2"}),
    ("participants.read_all", lambda d: d.participants.read_all(),
     "GET", f"{C}/participants", None),
    ("participants.read", lambda d: d.participants.read("w1"),
     "GET", f"{C}/participants/w1", None),
    ("participants.update", lambda d: d.participants.update("w1", port=9000),
     "PUT", f"{C}/participants/w1", {"port": 9000}),
    ("participants.delete", lambda d: d.participants.delete("w1"),
     "DELETE", f"{C}/participants/w1", None),
    # registrations
    ("registrations.create", lambda d: d.registrations.create("p1", "w1", role="guest"),
     "POST", REG, {"project_id": "p1", "participant_id": "w1", "role": "guest"}),
    ("registrations.create.nodes", lambda d: d.registrations.create(
        "p1", "w1", "host", nodes=[{"host": "h2", "port": 8021}]),
     "POST", REG, {"project_id": "p1", "participant_id": "w1", "role": "host",
                   "nodes": [{"host": "h2", "port": 8021}]}),
    ("registrations.read_all.project", lambda d: d.registrations.read_all(project_id="p1"),
     "GET", f"{P}/registrations", None),
    ("registrations.read_all.participant",
     lambda d: d.registrations.read_all(participant_id="w1"),
     "GET", f"{C}/participants/w1/registrations", None),
    ("registrations.read", lambda d: d.registrations.read("p1", "w1"), "GET", REG, None),
    ("registrations.update", lambda d: d.registrations.update("p1", "w1", role="arbiter"),
     "PUT", REG, {"role": "arbiter"}),
    ("registrations.delete", lambda d: d.registrations.delete("p1", "w1"),
     "DELETE", REG, None),
    # tags
    ("tags.create", lambda d: d.tags.create("p1", "w1", train=[["a"]], evaluate=[["b"]]),
     "POST", f"{REG}/tags", {"project_id": "p1", "participant_id": "w1",
                             "train": [["a"]], "evaluate": [["b"]]}),
    ("tags.create.predict", lambda d: d.tags.create("p1", "w1", [["a"]], predict=[["c"]]),
     "POST", f"{REG}/tags", {"project_id": "p1", "participant_id": "w1",
                             "train": [["a"]], "predict": [["c"]]}),
    ("tags.read", lambda d: d.tags.read("p1", "w1"), "GET", f"{REG}/tags", None),
    ("tags.update", lambda d: d.tags.update("p1", "w1", evaluate=[["x", "y"]]),
     "PUT", f"{REG}/tags", {"evaluate": [["x", "y"]]}),
    ("tags.delete", lambda d: d.tags.delete("p1", "w1"), "DELETE", f"{REG}/tags", None),
    # alignments
    ("alignments.create", lambda d: d.alignments.create("p1", auto_fix=False, **NO_WAIT),
     "POST", f"{T}/projects/p1/alignments", {"auto_fix": False}),
    ("alignments.read_all", lambda d: d.alignments.read_all("p1"),
     "GET", f"{T}/projects/p1/alignments", None),
    # models
    ("models.create.project", lambda d: d.models.create("p1", **NO_WAIT),
     "POST", f"{T}/projects/p1/models", {}),
    ("models.create.expt", lambda d: d.models.create("p1", "e1", **NO_WAIT),
     "POST", f"{T}/projects/p1/models/e1", {}),
    ("models.create.run", lambda d: d.models.create("p1", "e1", "r1", auto_align=True,
                                                    **NO_WAIT),
     "POST", f"{T}/projects/p1/models/e1/r1", {"auto_align": True}),
    ("models.read_all", lambda d: d.models.read_all("p1"), "GET", f"{T}/projects/p1/models",
     None),
    ("models.read_all.expt", lambda d: d.models.read_all("p1", "e1"),
     "GET", f"{T}/projects/p1/models/e1", None),
    ("models.read", lambda d: d.models.read("p1", "e1", "r1"),
     "GET", f"{T}/projects/p1/models/e1/r1", None),
    # optimizations
    ("optimizations.create", lambda d: d.optimizations.create(
        "p1", "e1", search_space={"lr": {"_type": "uniform", "_value": [0.1, 0.2]}},
        metric="accuracy", **NO_WAIT),
     "POST", f"{T}/projects/p1/models/e1/optimizations",
     {"search_space": {"lr": {"_type": "uniform", "_value": [0.1, 0.2]}},
      "metric": "accuracy"}),
    ("optimizations.read_all", lambda d: d.optimizations.read_all("p1", "e1"),
     "GET", f"{T}/projects/p1/models/e1/optimizations", None),
    # validations
    ("validations.create.project", lambda d: d.validations.create("p1", **NO_WAIT),
     "POST", f"{E}/projects/p1/validations", {}),
    ("validations.create.participant", lambda d: d.validations.create(
        "p1", "e1", "r1", "w1", **NO_WAIT),
     "POST", f"{E}/projects/p1/validations/e1/r1/w1", {}),
    ("validations.read_all", lambda d: d.validations.read_all("p1", "e1"),
     "GET", f"{E}/projects/p1/validations/e1", None),
    ("validations.read", lambda d: d.validations.read("p1", "e1", "r1", "w1"),
     "GET", f"{E}/projects/p1/validations/e1/r1/w1", None),
    # contributions
    ("contributions.create", lambda d: d.contributions.create("p1", "e1", metric="f_score",
                                                              **NO_WAIT),
     "POST", f"{E}/projects/p1/contributions/e1", {"metric": "f_score"}),
    ("contributions.read_all", lambda d: d.contributions.read_all("p1"),
     "GET", f"{E}/projects/p1/contributions", None),
    ("contributions.read", lambda d: d.contributions.read("p1", "e1", "r1"),
     "GET", f"{E}/projects/p1/contributions/e1/r1", None),
    # predictions
    ("predictions.create.all", lambda d: d.predictions.create("w1", **NO_WAIT),
     "POST", f"{E}/participants/w1/predictions", {}),
    ("predictions.create.run", lambda d: d.predictions.create(
        participant_id="w1", tags={"p1": [["iid_1"]]}, project_id="p1", expt_id="e1",
        run_id="r1", **NO_WAIT),
     "POST", f"{E}/participants/w1/predictions/p1/e1/r1", {"tags": {"p1": [["iid_1"]]}}),
    ("predictions.read_all", lambda d: d.predictions.read_all("w1", "p1"),
     "GET", f"{E}/participants/w1/predictions/p1", None),
    ("predictions.read", lambda d: d.predictions.read("w1", "p1", "e1", "r1"),
     "GET", f"{E}/participants/w1/predictions/p1/e1/r1", None),
    # jobs
    ("jobs.read_all", lambda d: d.jobs.read_all(), "GET", "/ttp/jobs", None),
    ("jobs.read", lambda d: d.jobs.read("job-9"), "GET", "/ttp/jobs/job-9", None),
    ("jobs.cancel", lambda d: d.jobs.cancel("job-9"), "POST", "/ttp/jobs/job-9/cancel", {}),
    ("jobs.resume.nowait", lambda d: d.jobs.resume("job-9", wait=False),
     "POST", "/ttp/jobs/job-9/resume", {}),
]


@pytest.mark.parametrize(("call", "method", "path", "body"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_verb_sends_its_route_and_body(
    driver: Driver, fake_ttp: FakeTTP, call: Call, method: str, path: str, body: Any
) -> None:
    envelope = call(driver)
    assert fake_ttp.calls() == [(method, path, body)]
    assert envelope["success"] == 1
    assert "data" in envelope


def test_every_resource_verb_is_covered_by_the_table() -> None:
    covered = {case[0].split(".")[0] + "." + case[0].split(".")[1] for case in CASES}
    expected = set()
    for name in ("projects", "experiments", "runs", "participants", "registrations", "tags",
                 "alignments", "models", "optimizations", "validations", "contributions",
                 "predictions", "jobs"):
        resource = getattr(Driver("127.0.0.1", 1), name)
        for verb in ("create", "read_all", "read", "update", "delete", "cancel", "resume"):
            if callable(getattr(resource, verb, None)):
                expected.add(f"{name}.{verb}")
    assert expected <= covered, sorted(expected - covered)


def test_jobs_read_all_sends_filters_as_query(driver: Driver, fake_ttp: FakeTTP) -> None:
    driver.jobs.read_all(status="running", kind="training")
    (recorded,) = fake_ttp.requests
    assert recorded.path == "/ttp/jobs"
    assert recorded.query == {"status": ["running"], "kind": ["training"]}


def test_ids_are_escaped_in_paths(driver: Driver, fake_ttp: FakeTTP) -> None:
    driver.experiments.read("my project/\u03b1", "e 1")
    assert fake_ttp.requests[0].path == (
        f"{C}/projects/my%20project%2F%CE%B1/experiments/e%201"
    )


def test_connect_create_returns_the_server_envelope(driver: Driver) -> None:
    envelope = driver.projects.create(project_id="p1", action="classify", incentives={})
    assert envelope["status"] == 201
    assert envelope["data"]["echo"] == {"project_id": "p1", "action": "classify",
                                        "incentives": {}}
