"""Experiments (model architectures): `/ttp/connect/projects/<p>/experiments[/<expt_id>]`."""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace

from synalgo.model_spec import validate_model_spec
from synarchive.tables import TABLES
from synergos_ttp.api.connect.common import (
    checked_body,
    create_record,
    delete_record,
    list_records,
    raise_if_invalid,
    read_or_404,
    read_record,
    update_record,
    without_fields,
)
from synergos_ttp.api.connect.routes import Operation, RecordRoutes
from synergos_ttp.api.services import current_services
from synrest.envelope import Envelope

KIND = "Experiment"
IDS = TABLES[KIND].key_fields


def _require_project(project_id: str) -> None:
    read_or_404("Project", {"project_id": project_id}, f"project {project_id!r}")


def _check_model(body: dict[str, Any]) -> None:
    if "model" in body:
        limit = current_services().max_model_parameters
        raise_if_invalid(validate_model_spec(body["model"], max_parameters=limit))


def create_experiment(project_id: str) -> Envelope:
    """Create (upsert) an experiment of an existing project; its model spec is validated."""
    body = checked_body(KIND, create=True, path_ids={"project_id": project_id})
    _check_model(body)
    _require_project(project_id)
    key = {"project_id": project_id, "expt_id": body["expt_id"]}
    return create_record(KIND, key, without_fields(body, IDS), "experiments.post")


def list_experiments(project_id: str) -> Envelope:
    """Every experiment of a project; 404 if the project is unknown."""
    _require_project(project_id)
    return list_records(KIND, {"project_id": project_id}, "experiments.get")


def read_experiment(project_id: str, expt_id: str) -> Envelope:
    """One experiment with its relations."""
    key = {"project_id": project_id, "expt_id": expt_id}
    return read_record(KIND, key, _label(project_id, expt_id), "experiment.get")


def update_experiment(project_id: str, expt_id: str) -> Envelope:
    """Partially update an experiment (a new `model` is validated)."""
    key = {"project_id": project_id, "expt_id": expt_id}
    body = checked_body(KIND, create=False, path_ids=key)
    _check_model(body)
    read_or_404(KIND, key, _label(project_id, expt_id))
    return update_record(KIND, key, without_fields(body, IDS), "experiment.put")


def delete_experiment(project_id: str, expt_id: str) -> Envelope:
    """Delete an experiment and its runs; returns the record as it was."""
    return delete_record(KIND, {"project_id": project_id, "expt_id": expt_id}, "experiment.delete")


def _label(project_id: str, expt_id: str) -> str:
    return f"experiment {expt_id!r} of project {project_id!r}"


def build_experiments_namespace() -> Namespace:
    """A fresh `experiments` namespace (mount it at `/ttp/connect`)."""
    ns = Namespace("experiments", description="Experiments: model architectures of a project")
    routes = RecordRoutes(ns, KIND)
    collection = "/projects/<string:project_id>/experiments"
    routes.add(
        "Experiments", "experiments", (collection,), listing=True,
        get=Operation(list_experiments, "List the experiments of a project.",
                      "every experiment of the project"),
        post=Operation(create_experiment,
                       "Create an experiment: a list of allow-listed torch.nn layers.",
                       "experiment created (or replaced)"),
    )
    routes.add(
        "Experiment", "experiment", (f"{collection}/<string:expt_id>",),
        get=Operation(read_experiment, "Read one experiment.",
                      "the experiment with its relations"),
        put=Operation(update_experiment, "Change an experiment's model.",
                      "the updated experiment"),
        delete=Operation(delete_experiment, "Delete an experiment with its runs.",
                         "the deleted experiment"),
    )
    return ns
