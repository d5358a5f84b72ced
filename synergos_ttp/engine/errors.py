"""Errors of the federated engine; their messages end up on the job record."""

from __future__ import annotations


class EngineError(RuntimeError):
    """A federated step cannot go on (missing records, too few Workers, bad Worker answer)."""


class FeatureDriftError(EngineError):
    """Prediction data would change another participant's alignment."""


class WorkerCallError(EngineError):
    """One call to one Worker failed; `participant_id` names the Worker, `kind` says how
    (`failed` or `timeout`)."""

    def __init__(self, participant_id: str, message: str, kind: str = "failed") -> None:
        super().__init__(f"worker {participant_id!r}: {message}")
        self.participant_id = participant_id
        self.kind = kind
        self.detail = message
