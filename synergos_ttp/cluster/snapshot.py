"""Archive records as plain JSON, to send one project's metadata to a cluster TTP and its
results back to the Director, which alone writes the real archive."""

from __future__ import annotations

from typing import Any

from synarchive import Archive

# What a job needs to run, and what a job may produce.
# In dependency order: a record is loaded after the records its key refers to.
INPUT_TABLES = ("Project", "Participant", "Experiment", "Run", "Registration", "Tag",
                "Alignment", "Model")
RESULT_TABLES = ("Experiment", "Alignment", "Model", "Validation", "Prediction", "Contribution")
LOAD_ORDER = (*INPUT_TABLES, "Validation", "Prediction", "Contribution")
_COMPUTED = ("key", "kind", "created_at", "updated_at", "relations", "link")

Snapshot = dict[str, list[dict[str, Any]]]


def take_snapshot(archive: Archive, project_ids: list[str],
                  tables: tuple[str, ...] = INPUT_TABLES) -> Snapshot:
    """Every record of `tables` that belongs to one of `project_ids`; participants are those
    registered in them (their Worker tokens travel with them, inside the cluster)."""
    wanted = set(project_ids)
    registered = {record["key"]["participant_id"] for record in
                  archive.table("Registration").read_all(include_relations=False)
                  if record["key"].get("project_id") in wanted}
    snapshot: Snapshot = {}
    for name in tables:
        records = archive.table(name).read_all(include_relations=False)
        if name == "Participant":
            snapshot[name] = [_plain(record) for record in records
                              if record["key"]["participant_id"] in registered]
        else:
            snapshot[name] = [_plain(record) for record in records
                              if record["key"].get("project_id") in wanted]
    return snapshot


def load_snapshot(archive: Archive, snapshot: Snapshot) -> int:
    """Upsert every record of `snapshot` into `archive`, table by table in dependency order;
    returns the count. Upserts by key, so loading the same snapshot twice changes nothing."""
    unknown = set(snapshot) - set(LOAD_ORDER)
    if unknown:
        raise ValueError(f"a snapshot cannot hold tables {sorted(unknown)}")
    count = 0
    for name in LOAD_ORDER:  # not the snapshot's own order: JSON messages sort their keys
        table = archive.table(name)
        for record in snapshot.get(name, []):
            table.create(record["key"], record["details"])
            count += 1
    return count


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {"key": record["key"],
            "details": {name: value for name, value in record.items() if name not in _COMPUTED}}
