"""A combination's run on the Workers, shared by training and validation: the normalised run
configuration, the run started and ended on every Worker, and what the Workers' initialise
answers say (the metas they hold and how many rows)."""

from __future__ import annotations

import logging
from typing import Any

from synalgo.run_config import normalise_run
from synarchive import Archive
from synergos_ttp.engine.alignment import stored_alignments
from synergos_ttp.engine.combinations import Combination, details, read_required
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.parallel import call_all
from synergos_ttp.engine.worker_client import WorkerClient

logger = logging.getLogger(__name__)


def load_run(archive: Archive, combination: Combination) -> dict[str, Any]:
    """The combination's normalised run configuration; `EngineError` when it is invalid."""
    record = read_required(archive, "Run", combination.key,
                           f"run {combination.route!r}")
    run, errors = normalise_run(details(record))
    if errors:
        raise EngineError("invalid run configuration: " + "; ".join(
            f"{name}: {message}" for name, message in sorted(errors.items())))
    return run


def class_count(archive: Archive, project_id: str, action: str, participant_ids: list[str]) -> int:
    """Number of classes of the aligned labels (1 for regression); needs an alignment."""
    alignments = stored_alignments(archive, project_id)
    missing = [pid for pid in participant_ids if pid not in alignments]
    if missing:
        raise EngineError(f"project {project_id!r} is not aligned for {', '.join(missing)}: "
                          f"POST /ttp/train/projects/{project_id}/alignments first")
    superset = alignments[participant_ids[0]].get("superset") or {}
    return 1 if action == "regress" else max(2, len(superset.get("y") or []))


def initialise_workers(clients: list[WorkerClient], combination: Combination,
                       body: dict[str, Any]) -> tuple[dict[str, dict], dict[str, str]]:
    """Initialise the run on every Worker: `(answers, errors)` by participant."""
    answers, failures = call_all(clients, lambda c: c.initialise(
        combination.project_id, combination.expt_id, combination.run_id,
        {**body, "participant_id": c.participant_id}))
    return answers, {pid: error.detail for pid, error in failures.items()}


def terminate_workers(clients: list[WorkerClient], combination: Combination) -> None:
    """Free the run on every Worker (best effort; failures are only logged)."""
    _, failures = call_all(clients, lambda c: c.terminate(
        combination.project_id, combination.expt_id, combination.run_id))
    for error in failures.values():
        logger.warning("terminate failed: %s", error)


def has_meta(answer: dict[str, Any], meta: str) -> bool:
    """Whether an initialise answer says the Worker holds data for `meta`."""
    entry = (answer.get("metas") or {}).get(meta)
    return isinstance(entry, dict) and entry.get("n_samples", 0) > 0


def meta_rows(answer: dict[str, Any], meta: str) -> int | None:
    """The rows an initialise answer says the Worker holds for `meta` (None: not said)."""
    entry = (answer.get("metas") or {}).get(meta)
    count = entry.get("n_samples") if isinstance(entry, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None
