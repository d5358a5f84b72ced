"""The Contribution record of a run, built from its per-round entries, and what follows it:
the project's incentive tiers and the MLflow metrics `<participant>_contribution` and
`<participant>_contribution_share`. A Director applies the same tiers when a cluster TTP
sends a Contribution record back (`apply_incentives`).
"""

from __future__ import annotations

import math
from typing import Any

from synalgo.contribution import assign_tiers, merge_incentives
from synarchive import Archive
from synergos_ttp.engine.combinations import Combination, read_required


def build_record(rounds: list[dict[str, Any]], participants: list[str], metric: str,
                 source: str) -> dict[str, Any]:
    """The record's details: per-round φ, totals Φ, shares, tiers, standard errors, counts."""
    measured = [entry for entry in rounds if "values" in entry]
    result = assign_tiers([entry["values"] for entry in measured], participants)
    per_round = {pid: {str(entry["round"]): entry["values"].get(pid, 0.0)
                       for entry in measured} for pid in result.totals}
    errors = {pid: math.sqrt(sum(entry["standard_errors"].get(pid, 0.0) ** 2
                                 for entry in measured)) for pid in result.totals}
    methods = sorted({entry["method"] for entry in rounds if "method" in entry})
    return {
        "metric": metric,
        "method": methods[0] if len(methods) == 1 else ("+".join(methods) or None),
        "source": source,
        "participants": sorted(result.totals),
        "per_round": per_round,
        "totals": result.totals,
        "shares": result.shares,
        "tiers": result.tiers,
        "standard_errors": errors,
        "evaluations": sum(entry.get("evaluations", 0) for entry in rounds),
        "calls": sum(entry.get("calls", 0) for entry in rounds),
        "rounds": rounds,
        "failed_rounds": {str(entry["round"]): entry["error"] for entry in rounds
                          if "error" in entry},
    }


def store_contribution(env: Any, combination: Combination, details: dict[str, Any]
                       ) -> dict[str, Any]:
    """Store the record, update the project's incentives and log Φ and shares to MLflow."""
    archive = env.archive
    with archive.transaction():
        stored = archive.table("Contribution").create(combination.key, details)
        apply_incentives(archive, combination.project_id, details["tiers"])
    if env.tracker is not None:
        env.tracker.log_contribution(combination.ids, details["totals"], details["shares"])
    return stored



def apply_incentives(archive: Archive, project_id: str, tiers: dict[str, list[str]]) -> None:
    """Write the tiers into the project's `incentives`, keeping its other keys."""
    key = {"project_id": project_id}
    project = read_required(archive, "Project", key, f"project {project_id!r}")
    archive.table("Project").update(key, {"incentives": merge_incentives(
        project.get("incentives"), tiers)})
