"""Experiment x run combinations of a project, and the records one combination needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synarchive import Archive
from synergos_ttp.engine.errors import EngineError

ANNOTATIONS = ("key", "kind", "created_at", "updated_at", "relations", "link")
IDENTIFIERS = ("project_id", "expt_id", "run_id", "participant_id")


@dataclass(frozen=True, order=True)
class Combination:
    """One experiment x run of a project."""

    project_id: str
    expt_id: str
    run_id: str

    @property
    def route(self) -> str:
        """`<p>/<e>/<r>`: the Worker route suffix and the MLflow mapping name."""
        return f"{self.project_id}/{self.expt_id}/{self.run_id}"

    @property
    def key(self) -> dict[str, str]:
        """The composite key of the combination's Run/Model records."""
        return {"project_id": self.project_id, "expt_id": self.expt_id, "run_id": self.run_id}

    @property
    def ids(self) -> tuple[str, str, str]:
        """`(project_id, expt_id, run_id)`."""
        return (self.project_id, self.expt_id, self.run_id)

    def as_json(self) -> dict[str, str]:
        """JSON form (job params, checkpoint info)."""
        return dict(self.key)


def details(record: dict[str, Any]) -> dict[str, Any]:
    """A record's own fields, without archive annotations or identifiers."""
    return {name: value for name, value in record.items()
            if name not in ANNOTATIONS and name not in IDENTIFIERS}


def select_runs(archive: Archive, project_id: str, expt_id: str | None = None,
                run_id: str | None = None) -> list[Combination]:
    """The combinations a path selects (whole project, one experiment, one run), in a stable
    order; raises `EngineError` when none exists."""
    filters = {"project_id": project_id}
    if expt_id is not None:
        filters["expt_id"] = expt_id
    if run_id is not None:
        filters["run_id"] = run_id
    runs = archive.table("Run").read_all(filters, include_relations=False)
    combinations = sorted(Combination(project_id, run["key"]["expt_id"], run["key"]["run_id"])
                          for run in runs)
    if not combinations:
        where = "/".join(part for part in (project_id, expt_id, run_id) if part)
        raise EngineError(f"no runs found under {where!r}")
    return combinations


def read_required(archive: Archive, table: str, key: dict[str, str], what: str) -> dict[str, Any]:
    """The record or `EngineError` naming what is missing."""
    record = archive.table(table).read(key, include_relations=False)
    if record is None:
        raise EngineError(f"{what} does not exist")
    return record
