"""Boundary validation of the connect API: every bad input is a 422 naming the field, and
nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from synergos import Driver
from synergos.errors import NotFoundError, ValidationError
from tests.support.processes import ServiceProcess
from tests.ttp.conftest import AUTH, unique

pytestmark = pytest.mark.integration

LINEAR = {"l_type": "Linear", "structure": {"in_features": 4, "out_features": 1},
          "activation": "sigmoid", "is_input": True}


def rejected_fields(call: Any, *args: Any, **kwargs: Any) -> set[str]:
    """Call a Driver method that must fail with 422; return the field names it reported."""
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    assert caught.value.status == 422, caught.value
    return set(caught.value.errors)


@pytest.fixture()
def project(driver: Driver) -> str:
    project_id = unique("proj")
    driver.projects.create(project_id=project_id, action="classify")
    driver.experiments.create(project_id=project_id, expt_id="e1", model=[LINEAR])
    return project_id


def test_project_fields(driver: Driver) -> None:
    project_id = unique("proj")
    create = driver.projects.create
    assert rejected_fields(create, project_id=project_id, action="cluster") == {"action"}
    assert rejected_fields(create, project_id=project_id, action="classify",
                           incentives=["tier_1"]) == {"incentives"}
    assert rejected_fields(create, project_id=project_id, action="classify",
                           colour="blue") == {"colour"}
    assert rejected_fields(create, project_id="../etc", action="classify") == {"project_id"}
    with pytest.raises(NotFoundError):
        driver.projects.read(project_id)


def test_body_ids_must_match_the_url(driver: Driver, project: str, ttp: ServiceProcess) -> None:
    url = f"{ttp.base_url}/ttp/connect/projects/{project}/experiments"
    answer = requests.post(url, json={"project_id": "other", "expt_id": "e2", "model": [LINEAR]},
                           headers=AUTH, timeout=10)
    assert answer.status_code == 422 and set(answer.json()["errors"]) == {"project_id"}
    answer = requests.put(f"{ttp.base_url}/ttp/connect/projects/{project}",
                          json={"project_id": "other"}, headers=AUTH, timeout=10)
    assert answer.status_code == 422 and set(answer.json()["errors"]) == {"project_id"}
    driver.runs.create(project_id=project, expt_id="e1", run_id="r0", base_lr=0.1, max_lr=1.0)
    answer = requests.put(f"{url}/e1/runs/r0", json={"expt_id": "e9", "rounds": 1},
                          headers=AUTH, timeout=10)
    assert answer.status_code == 422 and set(answer.json()["errors"]) == {"expt_id"}
    assert driver.runs.read(project, "e1", "r0")["data"]["rounds"] == 10
    with pytest.raises(NotFoundError):
        driver.experiments.read(project, "e2")


def test_malformed_json_is_400(ttp: ServiceProcess) -> None:
    answer = requests.post(f"{ttp.base_url}/ttp/connect/projects", data=b"{not json",
                           headers={**AUTH, "Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["success"] == 0
    answer = requests.post(f"{ttp.base_url}/ttp/connect/projects", json=[1, 2],
                           headers=AUTH, timeout=10)
    assert answer.status_code == 400


@pytest.mark.parametrize(("layer", "field"), [
    ({**LINEAR, "l_type": "Transformer"}, "model.0.l_type"),
    ({**LINEAR, "l_type": "Module"}, "model.0.l_type"),
    ({**LINEAR, "structure": {"in_features": 4, "out_features": 1, "colour": 1}},
     "model.0.structure.colour"),
    ({**LINEAR, "structure": {"in_features": "4", "out_features": 1}},
     "model.0.structure.in_features"),
    ({**LINEAR, "structure": {"in_features": 4, "out_features": 1, "bias": 1}},
     "model.0.structure.bias"),
    ({**LINEAR, "activation": "exp"}, "model.0.activation"),
    ({**LINEAR, "activation": "__import__"}, "model.0.activation"),
])
def test_experiment_model_rules(driver: Driver, project: str, layer: dict, field: str) -> None:
    fields = rejected_fields(driver.experiments.create, project_id=project, expt_id="bad",
                             model=[LINEAR, layer])
    assert field.replace("model.0", "model.1") in fields
    with pytest.raises(NotFoundError):
        driver.experiments.read(project, "bad")


def test_experiment_parameter_cap(driver: Driver, project: str) -> None:
    big = {**LINEAR, "structure": {"in_features": 1000, "out_features": 1000}}  # 1 M > 100 k
    assert rejected_fields(driver.experiments.create, project_id=project, expt_id="big",
                           model=[big]) == {"model"}
    assert rejected_fields(driver.experiments.update, project, "e1", model=[big]) == {"model"}
    assert driver.experiments.read(project, "e1")["data"]["model"] == [LINEAR]


@pytest.mark.parametrize(("fields", "field"), [
    ({"algorithm": "FedMagic"}, "algorithm"),
    ({"optimizer": "Lion"}, "optimizer"),
    ({"criterion": "os.system"}, "criterion"),
    ({"lr_scheduler": "Forever"}, "lr_scheduler"),
    ({"banana": 1}, "banana"),
    ({"momentum": "high"}, "momentum"),
    ({"rounds": 0}, "rounds"),
    ({"lr_scheduler": "StepLR"}, "step_size"),
])
def test_run_rules(driver: Driver, project: str, fields: dict, field: str) -> None:
    reported = rejected_fields(driver.runs.create, project_id=project, expt_id="e1",
                               run_id="bad", base_lr=0.001, max_lr=0.01, **fields)
    assert field in reported
    with pytest.raises(NotFoundError):
        driver.runs.read(project, "e1", "bad")


def test_run_keeps_explicit_zeros_and_fedavg_accepts_default_mu(driver: Driver,
                                                                 project: str) -> None:
    run = driver.runs.create(project_id=project, expt_id="e1", run_id="avg",
                             algorithm="fedavg", optimizer="SGD", momentum=0.0, nesterov=False,
                             weight_decay=0, lr_scheduler="StepLR", step_size=1, gamma=0.5)
    data = run["data"]
    assert (data["algorithm"], data["mu"], data["momentum"]) == ("FedAvg", 0.1, 0.0)
    assert (data["nesterov"], data["weight_decay"], data["step_size"]) == (False, 0, 1)
    assert rejected_fields(driver.runs.update, project, "e1", "avg", step_size="one") == {
        "step_size"}
    assert driver.runs.read(project, "e1", "avg")["data"]["step_size"] == 1


@pytest.mark.parametrize(("fields", "field"), [
    ({"host": "bad host!"}, "host"),
    ({"host": "a..b"}, "host"),
    ({"host": "10.0.0.1", "port": 70000}, "port"),
    ({"host": "10.0.0.1", "f_port": "5000"}, "f_port"),
    ({"host": "10.0.0.1", "f_port": 0}, "f_port"),
    ({"host": "10.0.0.1", "log_msgs": "yes"}, "log_msgs"),
    ({"host": "10.0.0.1", "secure": "yes"}, "secure"),
    ({"host": "10.0.0.1", "role": "host"}, "role"),
    ({"host": "10.0.0.1", "token": "0"}, "token"),
    ({"host": "10.0.0.1", "token": "has spaces in the token"}, "token"),
])
def test_participant_rules(driver: Driver, fields: dict, field: str) -> None:
    participant_id = unique("w")
    assert field in rejected_fields(driver.participants.create, participant_id=participant_id,
                                    **fields)
    with pytest.raises(NotFoundError):
        driver.participants.read(participant_id)


@pytest.mark.parametrize(("fields", "field"), [
    ({"role": "boss"}, "role"),
    ({"role": "host", "nodes": []}, "nodes"),
    ({"role": "host", "nodes": [{"host": "10.0.0.1", "port": 0, "f_port": 5000}]},
     "nodes.0.port"),
    ({"role": "host", "nodes": [{"host": "not a host", "port": 8020, "f_port": 5000}]},
     "nodes.0.host"),
    ({"role": "host", "nodes": [{"host": "10.0.0.1", "cpu": 3}]}, "nodes.0.cpu"),
    ({"role": "host", "nodes": [{"host": "10.0.0.1", "secure": 1}]}, "nodes.0.secure"),
    ({"role": "host", "n_count": 1}, "n_count"),
])
def test_registration_rules(driver: Driver, project: str, fields: dict, field: str) -> None:
    worker = unique("w")
    driver.participants.create(participant_id=worker, host="127.0.0.1")
    assert field in rejected_fields(driver.registrations.create, project_id=project,
                                    participant_id=worker, **fields)
    with pytest.raises(NotFoundError):
        driver.registrations.read(project, worker)


@pytest.mark.parametrize(("fields", "field"), [
    ({"train": [["dir/sub"]]}, "train.0.0"),
    ({"train": [["ok"], ["..", "x"]]}, "train.1.0"),
    ({"train": [["a..b"]]}, "train.0.0"),
    ({"train": [["/etc"]]}, "train.0.0"),
    ({"train": [["ok"]], "evaluate": [["c:\\windows"]]}, "evaluate.0.0"),
    ({"train": [["ok"]], "predict": [["x", "bell\x07"]]}, "predict.0.1"),
    ({"train": ["flat"]}, "train.0"),
    ({"train": [[]]}, "train.0"),
    ({"train": [["ok"]], "model": ["m"]}, "model"),
])
def test_tag_rules(driver: Driver, project: str, fields: dict, field: str) -> None:
    worker = unique("w")
    driver.participants.create(participant_id=worker, host="127.0.0.1")
    driver.registrations.create(project_id=project, participant_id=worker, role="guest")
    assert field in rejected_fields(driver.tags.create, project_id=project,
                                    participant_id=worker, **fields)
    with pytest.raises(NotFoundError):
        driver.tags.read(project, worker)
