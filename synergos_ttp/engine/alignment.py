"""Multiple feature alignment of a project.

`poll_grid` has every Worker preprocess its tags and return per-meta summaries (aggregates
only); `plan_alignment` derives the aligned superset (sorted union of column names), each
participant's spacer indexes and the global scaling (pooled from the train summaries);
`align_project` stores one Alignment record per participant, pushes each Worker its part and
(with `auto_fix`) resizes the input/output layers of the project's experiments.
`check_feature_drift` is the prediction guard: new predict data may not change anyone else's
alignment. The summaries themselves are never stored or logged.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from synalgo.alignment import auto_fix_model, compute_alignment, global_scaling
from synalgo.errors import AlgoError
from synarchive import Archive
from syncommon.metas import METAS
from synergos_ttp.engine.errors import EngineError, FeatureDriftError
from synergos_ttp.engine.parallel import call_all_or_fail
from synergos_ttp.engine.worker_client import WorkerClient
from synergos_ttp.jobs import JobCancelled

logger = logging.getLogger(__name__)
AXES = ("X", "y")


@dataclass(frozen=True)
class AlignmentPlan:
    """The result of MFA: superset, spacers per participant and meta, global scaling."""

    superset: dict[str, list[str]]
    spacers: dict[str, dict[str, dict[str, list[int]]]]
    scaling: dict[str, list]

    def worker_body(self, participant_id: str) -> dict[str, Any]:
        """What `/worker/align` receives for one participant."""
        return {"superset": self.superset, "spacers": self.spacers[participant_id],
                "scaling": self.scaling}

    def record(self, participant_id: str, auto_align: bool) -> dict[str, Any]:
        """The Alignment record details of one participant (no data statistics)."""
        return {**self.spacers[participant_id], "superset": self.superset,
                "auto_align": auto_align}


def poll_grid(clients: list[WorkerClient], project_id: str, action: str,
              timeout: float, cancelled: threading.Event | None = None
              ) -> dict[str, dict[str, dict[str, Any]]]:
    """Every Worker's per-meta summary `{participant: {meta: summary}}` (in parallel);
    `JobCancelled` once `cancelled` is set, the calls in flight aborted."""
    deadline = time.monotonic() + timeout
    raw = call_all_or_fail(clients, lambda c: c.poll(project_id, action, deadline, cancelled),
                           "preprocessing (poll)", cancelled, WorkerClient.abort_commands)
    return {participant_id: _metas_of(participant_id, data) for participant_id, data in raw.items()}


def plan_alignment(summaries: dict[str, dict[str, dict[str, Any]]],
                   auto_align: bool = True) -> AlignmentPlan:
    """Superset, spacers and global scaling from the Workers' summaries.

    With `auto_align` false every participant must report the same columns (no spacers)."""
    headers = {pid: {meta: summary["headers"] for meta, summary in metas.items()}
               for pid, metas in summaries.items()}
    try:
        aligned = compute_alignment(headers)
    except AlgoError as error:
        raise EngineError(f"alignment failed: {error}") from None
    if not auto_align:
        _require_identical_columns(aligned["spacers"])
    categorical = sorted({column for metas in summaries.values()
                          for summary in metas.values() for column in summary.get("categorical")
                          or []})
    train_summaries = [metas["train"].get("summary") or {} for metas in summaries.values()
                       if "train" in metas]
    try:
        scaling = global_scaling(train_summaries, aligned["superset"]["X"], categorical)
    except AlgoError as error:
        raise EngineError(f"global scaling failed: {error}") from None
    return AlignmentPlan(aligned["superset"], aligned["spacers"], scaling)


def align_project(archive: Archive, clients: list[WorkerClient], project_id: str, action: str,
                  poll_timeout: float, auto_align: bool = True, auto_fix: bool = True,
                  cancelled: threading.Event | None = None) -> list[dict[str, Any]]:
    """Poll, plan, push and store the alignment of a project; returns the Alignment records.
    A stop (`cancelled`, `JobCancelled`) or a failure before any Worker got its new alignment
    changes nothing; one while sending it removes the project's Alignment records (the
    Workers may then hold either alignment), so nothing trains before the next alignment."""
    plan = plan_alignment(poll_grid(clients, project_id, action, poll_timeout, cancelled),
                          auto_align)
    if cancelled is not None and cancelled.is_set():
        raise JobCancelled("stopped before the alignment was sent")
    try:
        call_all_or_fail(clients, lambda c: c.align(project_id,
                                                    plan.worker_body(c.participant_id)),
                         "sending the alignment", cancelled, WorkerClient.abort_commands)
    except (EngineError, JobCancelled):
        forget_alignments(archive, project_id)
        raise
    records = [store_alignment(archive, project_id, client.participant_id, plan, auto_align)
               for client in clients]
    if auto_fix:
        fix_experiments(archive, project_id, plan, action)
    logger.info("project aligned", extra={"project_id": project_id,
                                          "features": len(plan.superset["X"]),
                                          "labels": len(plan.superset["y"])})
    return records


def store_alignment(archive: Archive, project_id: str, participant_id: str, plan: AlignmentPlan,
                    auto_align: bool) -> dict[str, Any]:
    """Upsert one participant's Alignment record."""
    key = {"project_id": project_id, "participant_id": participant_id}
    return archive.table("Alignment").create(key, plan.record(participant_id, auto_align))


def forget_alignments(archive: Archive, project_id: str) -> None:
    """Delete the project's Alignment records."""
    table = archive.table("Alignment")
    for record in table.read_all({"project_id": project_id}, include_relations=False):
        table.delete(record["key"])


def fix_experiments(archive: Archive, project_id: str, plan: AlignmentPlan,
                    action: str) -> list[str]:
    """Resize every experiment's input/output layers to the aligned data; returns the ids of
    the experiments that changed."""
    changed = []
    table = archive.table("Experiment")
    for experiment in table.read_all({"project_id": project_id}, include_relations=False):
        spec = experiment.get("model") or []
        try:
            fixed = auto_fix_model(spec, len(plan.superset["X"]), len(plan.superset["y"]), action)
        except AlgoError as error:
            raise EngineError(f"auto_fix of experiment {experiment['key']['expt_id']!r} "
                              f"failed: {error}") from None
        if fixed != spec:
            table.update(experiment["key"], {"model": fixed})
            changed.append(experiment["key"]["expt_id"])
    return changed


def stored_alignments(archive: Archive, project_id: str) -> dict[str, dict[str, Any]]:
    """The project's Alignment records by participant id."""
    records = archive.table("Alignment").read_all({"project_id": project_id},
                                                  include_relations=False)
    return {record["key"]["participant_id"]: record for record in records}


def check_feature_drift(stored: dict[str, dict[str, Any]], plan: AlignmentPlan,
                        requester: str) -> None:
    """Raise `FeatureDriftError` when `plan` changes the superset or the spacers of any
    participant other than `requester` (compared with the stored Alignment records)."""
    drifted = []
    for participant_id, spacers in plan.spacers.items():
        if participant_id == requester:
            continue
        record = stored.get(participant_id)
        if record is None:
            drifted.append(f"{participant_id} (never aligned)")
            continue
        if record.get("superset") not in (None, plan.superset):
            drifted.append(f"{participant_id} (aligned columns changed)")
            continue
        for meta in METAS:
            if meta in spacers and meta in record and any(
                    list(record[meta].get(axis, [])) != spacers[meta][axis] for axis in AXES):
                drifted.append(f"{participant_id} ({meta} spacers changed)")
    if drifted:
        raise FeatureDriftError(
            f"feature drift detected: the prediction data of {requester!r} changes the "
            f"alignment of {', '.join(drifted)}; prediction data may not introduce features or "
            "classes unseen in training")


def _metas_of(participant_id: str, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    reported = data.get("metas")
    source = reported if isinstance(reported, dict) else data
    metas = {meta: summary for meta, summary in source.items()
             if meta in METAS and isinstance(summary, dict)
             and isinstance(summary.get("headers"), dict)}
    if "train" not in metas:
        raise EngineError(f"worker {participant_id!r} reported no train data after "
                          "preprocessing")
    return metas


def _require_identical_columns(spacers: dict[str, dict[str, dict[str, list[int]]]]) -> None:
    uneven = sorted({participant for participant, metas in spacers.items()
                     for header in metas.values() for axis in AXES if header[axis]})
    if uneven:
        raise EngineError("auto_align=false needs every participant to have the same columns; "
                          f"these differ: {', '.join(uneven)}")
