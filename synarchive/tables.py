"""The archive's tables: composite key fields, child tables, association links and schemas.

A record of a child table relates to a parent record when, for every field of the parent's
key, the child's key holds the same value (the full composite key prefix, never one id).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableSpec:
    """Static description of one table."""

    name: str
    key_fields: tuple[str, ...]
    schema: str
    children: tuple[str, ...] = ()
    link_field: str | None = None
    # Tables that must hold a record with the same key before this one can be created; their
    # link ids are copied into this record's link (Tag <- Registration, Alignment <- both).
    prerequisites: tuple[str, ...] = ()

    @property
    def is_association(self) -> bool:
        """True for tables whose records carry a `link` of generated ids."""
        return self.link_field is not None


_SPECS = (
    TableSpec(
        "Project", ("project_id",), "project",
        children=("Experiment", "Run", "Registration", "Tag", "Alignment", "Model",
                  "Validation", "Prediction", "Optimization", "Contribution"),
    ),
    TableSpec(
        "Experiment", ("project_id", "expt_id"), "experiment",
        children=("Run", "Model", "Validation", "Prediction", "Optimization", "Contribution"),
    ),
    TableSpec(
        "Run", ("project_id", "expt_id", "run_id"), "run",
        children=("Model", "Validation", "Prediction", "Contribution"),
    ),
    TableSpec(
        "Participant", ("participant_id",), "participant",
        children=("Registration", "Tag", "Alignment", "Validation", "Prediction"),
    ),
    TableSpec(
        "Registration", ("project_id", "participant_id"), "registration",
        children=("Tag", "Alignment"), link_field="registration_id",
    ),
    TableSpec(
        "Tag", ("project_id", "participant_id"), "tag",
        children=("Alignment",), link_field="tag_id", prerequisites=("Registration",),
    ),
    TableSpec(
        "Alignment", ("project_id", "participant_id"), "alignment",
        link_field="alignment_id", prerequisites=("Registration", "Tag"),
    ),
    TableSpec("Model", ("project_id", "expt_id", "run_id"), "model", link_field="model_id"),
    TableSpec(
        "Validation", ("participant_id", "project_id", "expt_id", "run_id"), "validation",
        link_field="val_id",
    ),
    TableSpec(
        "Prediction", ("participant_id", "project_id", "expt_id", "run_id"), "prediction",
        link_field="pred_id",
    ),
    TableSpec("Contribution", ("project_id", "expt_id", "run_id"), "contribution"),
    TableSpec("Optimization", ("project_id", "expt_id", "optim_id"), "optimization"),
    TableSpec("Job", ("job_id",), "job"),
    TableSpec("MLflow", ("name",), "mlflow"),
)

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in _SPECS}

# Fields every stored record carries besides its details; details may not set them.
RESERVED_FIELDS = ("key", "kind", "created_at", "updated_at", "link", "relations")


def link_fields(table: str) -> tuple[str, ...]:
    """The ids a record of `table` carries in its `link`: its prerequisites' ids, then its own
    (a Tag's link holds `registration_id` and `tag_id`)."""
    spec = TABLES[table]
    if spec.link_field is None:
        return ()
    inherited = [TABLES[name].link_field for name in spec.prerequisites]
    return (*(name for name in inherited if name is not None), spec.link_field)


def parent_field_sets(table: str) -> list[tuple[str, ...]]:
    """Key field tuples of every table that lists `table` as a child (for relation indexes)."""
    return [spec.key_fields for spec in _SPECS if table in spec.children]


def _check_specs() -> None:
    for spec in _SPECS:
        for child in spec.children:
            missing = set(spec.key_fields) - set(TABLES[child].key_fields)
            if missing:
                raise AssertionError(f"{child} cannot be a child of {spec.name}: lacks {missing}")
        for prerequisite in spec.prerequisites:
            if TABLES[prerequisite].key_fields != spec.key_fields:
                raise AssertionError(f"{spec.name} prerequisite {prerequisite} has another key")


_check_specs()
