"""Runs (hyperparameters): `/ttp/connect/projects/<p>/experiments/<e>/runs[/<run_id>]`.

Bodies are normalised by `synalgo.run_config.normalise_run`: reference defaults filled in,
components checked against allow-lists, extra fields accepted only as constructor arguments
of the chosen optimizer/criterion/scheduler. The stored run is the normalised one. An update
re-normalises the stored run merged with the changes (to switch to a scheduler that rejects a
stored argument, re-create the run).
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace

from synalgo.run_config import normalise_run
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
from synergos_ttp.api.records import details_of
from synrest.envelope import Envelope

KIND = "Run"
IDS = TABLES[KIND].key_fields


def _normalised(fields: dict[str, Any]) -> dict[str, Any]:
    run, errors = normalise_run(without_fields(fields, IDS))
    raise_if_invalid(errors)
    return without_fields(run, IDS)


def create_run(project_id: str, expt_id: str) -> Envelope:
    """Create (upsert) a run of an existing experiment from normalised hyperparameters."""
    body = checked_body(KIND, create=True, path_ids={"project_id": project_id,
                                                      "expt_id": expt_id})
    details = _normalised(body)
    read_or_404("Experiment", {"project_id": project_id, "expt_id": expt_id},
                f"experiment {expt_id!r} of project {project_id!r}")
    key = {"project_id": project_id, "expt_id": expt_id, "run_id": body["run_id"]}
    return create_record(KIND, key, details, "runs.post")


def list_runs(project_id: str, expt_id: str) -> Envelope:
    """Every run of an experiment; 404 if the experiment is unknown."""
    parent = {"project_id": project_id, "expt_id": expt_id}
    read_or_404("Experiment", parent, f"experiment {expt_id!r} of project {project_id!r}")
    return list_records(KIND, parent, "runs.get")


def read_run(project_id: str, expt_id: str, run_id: str) -> Envelope:
    """One run with its relations."""
    key = {"project_id": project_id, "expt_id": expt_id, "run_id": run_id}
    return read_record(KIND, key, _label(key), "run.get")


def update_run(project_id: str, expt_id: str, run_id: str) -> Envelope:
    """Change some hyperparameters; the merged run is normalised again."""
    key = {"project_id": project_id, "expt_id": expt_id, "run_id": run_id}
    body = checked_body(KIND, create=False, path_ids=key)
    current = read_or_404(KIND, key, _label(key))
    details = _normalised({**details_of(current), **without_fields(body, IDS)})
    return update_record(KIND, key, details, "run.put")


def delete_run(project_id: str, expt_id: str, run_id: str) -> Envelope:
    """Delete a run; returns the record as it was."""
    return delete_record(KIND, {"project_id": project_id, "expt_id": expt_id,
                                "run_id": run_id}, "run.delete")


def _label(key: dict[str, str]) -> str:
    return (f"run {key['run_id']!r} of experiment {key['expt_id']!r} "
            f"of project {key['project_id']!r}")


def build_runs_namespace() -> Namespace:
    """A fresh `runs` namespace (mount it at `/ttp/connect`)."""
    ns = Namespace("runs", description="Runs: training hyperparameters of an experiment")
    routes = RecordRoutes(ns, KIND)
    collection = "/projects/<string:project_id>/experiments/<string:expt_id>/runs"
    routes.add(
        "Runs", "runs", (collection,), listing=True,
        get=Operation(list_runs, "List the runs of an experiment.", "every run of the experiment"),
        post=Operation(create_run, "Create a run; unknown fields must be optimizer/criterion/"
                       "scheduler arguments.", "run created (or replaced), defaults filled in"),
    )
    routes.add(
        "Run", "run", (f"{collection}/<string:run_id>",),
        get=Operation(read_run, "Read one run.", "the run with its relations"),
        put=Operation(update_run, "Change some hyperparameters of a run.", "the updated run"),
        delete=Operation(delete_run, "Delete a run.", "the deleted run"),
    )
    return ns
