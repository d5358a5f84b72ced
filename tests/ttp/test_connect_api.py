"""The connect API of a real TTP process, driven through `synergos.Driver`."""

from __future__ import annotations

import pytest
import requests

from synergos import Driver
from synergos.errors import AuthenticationError, NotFoundError
from tests.support.processes import ServiceProcess
from tests.ttp.conftest import AUTH, unique

pytestmark = pytest.mark.integration

SEED_MODEL = [{"activation": "sigmoid", "is_input": True, "l_type": "Linear",
               "structure": {"bias": True, "in_features": 15, "out_features": 1}}]


def build_project(driver: Driver, project_id: str, participants: list[str]) -> None:
    """Project + experiment + run, and each participant registered with train tags."""
    driver.projects.create(project_id=project_id, action="classify", incentives={})
    driver.experiments.create(project_id=project_id, expt_id="e1", model=SEED_MODEL)
    driver.runs.create(project_id=project_id, expt_id="e1", run_id="r1", rounds=2, epochs=1,
                       base_lr=0.0005, max_lr=0.005, criterion="NLLLoss")
    for participant_id in participants:
        driver.registrations.create(project_id=project_id, participant_id=participant_id,
                                    role="guest")
        driver.tags.create(project_id=project_id, participant_id=participant_id,
                           train=[["non_iid_1"]])


def test_seed_example_connect_phase(driver: Driver) -> None:
    project_id, p1, p2 = unique("test_project"), unique("p1"), unique("p2")
    created = driver.projects.create(project_id=project_id, action="classify",
                                     incentives={"tier_1": [], "tier_2": [], "tier_3": []})
    assert (created["status"], created["method"]) == (201, "projects.post")
    assert created["data"]["key"] == {"project_id": project_id}
    assert created["data"]["kind"] == "Project"

    expt = driver.experiments.create(project_id=project_id, expt_id="test_experiment",
                                     model=SEED_MODEL)
    assert expt["data"]["model"] == SEED_MODEL
    run = driver.runs.create(project_id=project_id, expt_id="test_experiment",
                             run_id="test_run", rounds=2, epochs=1, base_lr=0.0005,
                             max_lr=0.005, criterion="NLLLoss")
    run_data = run["data"]
    assert (run_data["rounds"], run_data["epochs"], run_data["criterion"]) == (2, 1, "NLLLoss")
    assert (run_data["algorithm"], run_data["optimizer"], run_data["lr"]) == ("FedProx", "SGD",
                                                                            0.001)
    assert (run_data["base_lr"], run_data["max_lr"]) == (0.0005, 0.005)

    for participant_id, host in ((p1, "172.17.0.2"), (p2, "172.17.0.3")):
        made = driver.participants.create(participant_id=participant_id, host=host, port=8020,
                                          f_port=5000, log_msgs=True, verbose=True)
        assert made["data"]["host"] == host and made["data"]["f_port"] == 5000
    guest = driver.registrations.create(project_id=project_id, participant_id=p1, role="guest")
    driver.registrations.create(project_id=project_id, participant_id=p2, role="host")
    assert guest["data"]["nodes"] == [{"host": "172.17.0.2", "port": 8020, "f_port": 5000,
                                       "log_msgs": True, "verbose": True, "secure": False}]
    assert set(guest["data"]["link"]) == {"registration_id"}

    tags = driver.tags.create(
        project_id=project_id, participant_id=p1,
        train=[["non_iid_1"], ["edge_test_missing_coecerable_vals"], ["edge_test_misalign"],
               ["edge_test_na_slices"]],
        evaluate=[["iid_1"]])
    assert tags["data"]["evaluate"] == [["iid_1"]] and tags["data"]["predict"] == []
    only_train = driver.tags.create(project_id=project_id, participant_id=p2,
                                    train=[["non_iid_2"]])
    assert only_train["data"]["evaluate"] == []

    project = driver.projects.read(project_id=project_id)["data"]
    relations = project["relations"]
    assert [r["key"]["expt_id"] for r in relations["Experiment"]] == ["test_experiment"]
    assert [r["key"]["run_id"] for r in relations["Run"]] == ["test_run"]
    assert {r["role"] for r in relations["Registration"]} == {"guest", "host"}
    assert len(relations["Tag"]) == 2


def test_projects_every_verb(driver: Driver) -> None:
    project_id = unique("proj")
    driver.projects.create(project_id=project_id, action="classify")
    assert driver.projects.read(project_id)["data"]["incentives"] == {}
    listed = driver.projects.read_all()
    assert listed["method"] == "projects.get"
    assert project_id in [p["key"]["project_id"] for p in listed["data"]]
    updated = driver.projects.update(project_id, action="regress", incentives={"tier_1": ["a"]})
    assert (updated["method"], updated["data"]["action"]) == ("project.put", "regress")
    upserted = driver.projects.create(project_id=project_id, action="classify")
    assert upserted["status"] == 201 and upserted["data"]["incentives"] == {}
    deleted = driver.projects.delete(project_id)
    assert (deleted["method"], deleted["data"]["action"]) == ("project.delete", "classify")
    with pytest.raises(NotFoundError):
        driver.projects.read(project_id)
    with pytest.raises(NotFoundError):
        driver.projects.delete(project_id)


def test_experiments_and_runs_every_verb(driver: Driver) -> None:
    project_id = unique("proj")
    driver.projects.create(project_id=project_id, action="classify")
    driver.experiments.create(project_id=project_id, expt_id="e1", model=SEED_MODEL)
    assert [e["key"]["expt_id"] for e in driver.experiments.read_all(project_id)["data"]] == [
        "e1"]
    new_model = [{**SEED_MODEL[0], "structure": {"in_features": 4, "out_features": 2}}]
    assert driver.experiments.update(project_id, "e1", model=new_model)["data"]["model"] == (
        new_model)
    assert driver.experiments.read(project_id, "e1")["data"]["model"] == new_model

    driver.runs.create(project_id=project_id, expt_id="e1", run_id="r1", lr_scheduler="",
                       mu=0, is_snn=False)
    run = driver.runs.read(project_id, "e1", "r1")["data"]
    assert (run["mu"], run["is_snn"], run["lr_scheduler"]) == (0, False, None)
    assert run["rounds"] == 10 and run["epochs"] == 100 and run["patience"] == 10
    updated = driver.runs.update(project_id, "e1", "r1", rounds=3, momentum=0.0)
    assert (updated["data"]["rounds"], updated["data"]["momentum"]) == (3, 0.0)
    assert updated["data"]["epochs"] == 100
    assert [r["key"]["run_id"] for r in driver.runs.read_all(project_id, "e1")["data"]] == ["r1"]
    # None asks for no scheduler (it used to be dropped, so the server's CyclicLR applied);
    # leaving the argument out takes that default
    driver.runs.create(project_id=project_id, expt_id="e1", run_id="r2", lr_scheduler=None)
    driver.runs.create(project_id=project_id, expt_id="e1", run_id="r3")
    assert driver.runs.read(project_id, "e1", "r2")["data"]["lr_scheduler"] is None
    assert driver.runs.read(project_id, "e1", "r3")["data"]["lr_scheduler"] == "CyclicLR"
    for run_id in ("r2", "r3"):
        driver.runs.delete(project_id, "e1", run_id)
    assert driver.runs.delete(project_id, "e1", "r1")["method"] == "run.delete"
    assert driver.runs.read_all(project_id, "e1")["data"] == []
    assert driver.experiments.delete(project_id, "e1")["method"] == "experiment.delete"
    with pytest.raises(NotFoundError):
        driver.experiments.read(project_id, "e1")
    with pytest.raises(NotFoundError):
        driver.runs.read_all(project_id, "e1")


def test_participants_registrations_tags_every_verb(driver: Driver) -> None:
    project_id, participant_id = unique("proj"), unique("worker")
    driver.projects.create(project_id=project_id, action="regress")
    made = driver.participants.create(participant_id=participant_id, host="worker-1.local")
    assert (made["data"]["port"], made["data"]["f_port"]) == (8020, 5000)
    assert participant_id in [p["key"]["participant_id"]
                              for p in driver.participants.read_all()["data"]]
    assert driver.participants.update(participant_id, port=9020)["data"]["port"] == 9020

    nodes = [{"host": "10.0.0.1", "port": 8020, "f_port": 5000},
             {"host": "10.0.0.2", "port": 8021, "f_port": 5001, "verbose": True}]
    registration = driver.registrations.create(project_id=project_id,
                                               participant_id=participant_id, role="arbiter",
                                               nodes=nodes)["data"]
    assert [node["host"] for node in registration["nodes"]] == ["10.0.0.1", "10.0.0.2"]
    assert registration["nodes"][0]["log_msgs"] is False
    assert registration["nodes"][1]["verbose"] is True
    by_project = driver.registrations.read_all(project_id=project_id)["data"]
    by_participant = driver.registrations.read_all(participant_id=participant_id)["data"]
    assert by_project == by_participant and len(by_project) == 1
    assert driver.registrations.update(project_id, participant_id,
                                       role="host")["data"]["role"] == "host"
    assert driver.registrations.read(project_id, participant_id)["data"]["role"] == "host"

    driver.tags.create(project_id=project_id, participant_id=participant_id,
                       train=[["a", "b"]], predict=[["c"]])
    assert driver.tags.update(project_id, participant_id,
                              evaluate=[["d"]])["data"]["train"] == [["a", "b"]]
    tags = driver.tags.read(project_id, participant_id)["data"]
    assert (tags["evaluate"], tags["predict"]) == ([["d"]], [["c"]])
    assert set(tags["link"]) == {"registration_id", "tag_id"}
    assert driver.tags.delete(project_id, participant_id)["method"] == "tag.delete"
    with pytest.raises(NotFoundError):
        driver.tags.read(project_id, participant_id)

    assert driver.registrations.delete(project_id, participant_id)["data"]["role"] == "host"
    assert driver.registrations.read_all(project_id=project_id)["data"] == []
    assert driver.participants.delete(participant_id)["method"] == "participant.delete"
    with pytest.raises(NotFoundError):
        driver.participants.read(participant_id)


def test_parents_must_exist(driver: Driver) -> None:
    project_id, participant_id = unique("proj"), unique("worker")
    with pytest.raises(NotFoundError):
        driver.experiments.create(project_id=project_id, expt_id="e1", model=SEED_MODEL)
    driver.projects.create(project_id=project_id, action="classify")
    with pytest.raises(NotFoundError):
        driver.runs.create(project_id=project_id, expt_id="missing", run_id="r1")
    with pytest.raises(NotFoundError):
        driver.registrations.create(project_id=project_id, participant_id=participant_id,
                                    role="guest")
    driver.participants.create(participant_id=participant_id, host="127.0.0.1")
    with pytest.raises(NotFoundError):
        driver.tags.create(project_id=project_id, participant_id=participant_id,
                           train=[["x"]])
    with pytest.raises(NotFoundError):
        driver.registrations.create(project_id=unique("nope"), participant_id=participant_id,
                                    role="guest")
    with pytest.raises(NotFoundError):
        driver.registrations.read_all(participant_id=unique("nobody"))


def test_delete_project_cascades_within_that_project_only(driver: Driver) -> None:
    worker = unique("worker")
    driver.participants.create(participant_id=worker, host="127.0.0.1")
    doomed, kept = unique("doomed"), unique("kept")
    build_project(driver, doomed, [worker])
    build_project(driver, kept, [worker])  # same expt/run ids in both projects

    gone = driver.projects.delete(doomed)["data"]["relations"]
    assert len(gone["Experiment"]) == len(gone["Run"]) == len(gone["Registration"]) == 1
    with pytest.raises(NotFoundError):
        driver.experiments.read(doomed, "e1")
    with pytest.raises(NotFoundError):
        driver.runs.read(doomed, "e1", "r1")
    with pytest.raises(NotFoundError):
        driver.registrations.read(doomed, worker)
    with pytest.raises(NotFoundError):
        driver.tags.read(doomed, worker)

    assert driver.experiments.read(kept, "e1")["data"]["model"] == SEED_MODEL
    assert driver.runs.read(kept, "e1", "r1")["data"]["rounds"] == 2
    assert driver.tags.read(kept, worker)["data"]["train"] == [["non_iid_1"]]
    remaining = driver.registrations.read_all(participant_id=worker)["data"]
    assert [r["key"]["project_id"] for r in remaining] == [kept]


def test_delete_experiment_and_participant_cascade(driver: Driver) -> None:
    first, second = unique("w"), unique("w")
    for worker in (first, second):
        driver.participants.create(participant_id=worker, host="127.0.0.1")
    project_id = unique("proj")
    build_project(driver, project_id, [first, second])

    driver.experiments.delete(project_id, "e1")
    with pytest.raises(NotFoundError):
        driver.runs.read(project_id, "e1", "r1")
    driver.participants.delete(first)
    with pytest.raises(NotFoundError):
        driver.registrations.read(project_id, first)
    with pytest.raises(NotFoundError):
        driver.tags.read(project_id, first)
    assert driver.tags.read(project_id, second)["data"]["train"] == [["non_iid_1"]]
    assert driver.projects.read(project_id)["data"]["action"] == "classify"


def test_worker_tokens_are_never_returned(driver: Driver, ttp: ServiceProcess) -> None:
    secret, node_secret = "worker-secret-" + unique("t"), "node-secret-" + unique("t")
    worker, project_id = unique("w"), unique("proj")
    made = driver.participants.create(participant_id=worker, host="127.0.0.1", token=secret)
    assert "token" not in made["data"]
    build_project(driver, project_id, [])
    driver.registrations.create(project_id=project_id, participant_id=worker, role="host",
                                nodes=[{"host": "10.1.1.1", "port": 8020, "f_port": 5000,
                                        "token": node_secret}])
    driver.participants.update(worker, verbose=True)
    bodies = [
        requests.get(f"{ttp.base_url}{path}", headers=AUTH, timeout=10).text
        for path in (f"/ttp/connect/participants/{worker}", "/ttp/connect/participants",
                     f"/ttp/connect/projects/{project_id}",
                     f"/ttp/connect/projects/{project_id}/registrations",
                     f"/ttp/connect/participants/{worker}/projects/{project_id}/registration")
    ]
    deleted = driver.participants.delete(worker)
    for body in [*bodies, str(deleted)]:
        assert secret not in body and node_secret not in body
    assert secret not in ttp.log_tail(200_000) and node_secret not in ttp.log_tail(200_000)


def test_requests_without_token_get_401(ttp: ServiceProcess) -> None:
    for method, path in (("get", "/ttp/connect/projects"), ("post", "/ttp/connect/projects"),
                         ("get", "/ttp/connect/participants/x"), ("get", "/ttp/jobs")):
        response = requests.request(method, ttp.base_url + path, json={}, timeout=10)
        assert response.status_code == 401, path
        assert response.json()["success"] == 0
    bad = Driver(host="127.0.0.1", port=ttp.port, token="wrong-token-0123456789abcdef")
    with bad, pytest.raises(AuthenticationError):
        bad.projects.read_all()
    assert requests.get(ttp.base_url + "/health", timeout=10).status_code == 200

