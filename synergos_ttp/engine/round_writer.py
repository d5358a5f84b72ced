"""Write-behind persistence of finished rounds: history line, checkpoint, job record.

Making a round durable costs four fsyncs (the history line, the checkpoint file, the job
record's journal line, the dropped old checkpoint); done inline they took longer than the
round itself at 8 Workers. `RoundWriter` does them on one background thread, in round order,
while the next round trains. At most one round waits behind the one being written, so memory
stays bounded and a slow disk slows training down instead of piling up states. Leaving the
`with` block (normally, on failure or on cancellation) waits until every submitted round is
durable, so a stopped job's record always points at its last finished round. After a crash
the job resumes from the last round that made it to disk, and redoes the rest.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from synalgo.state import State
from synergos_ttp.engine.checkpoints import (
    checkpoint_path,
    drop_old_checkpoints,
    save_checkpoint,
)
from synergos_ttp.engine.errors import EngineError
from synergos_ttp.engine.history import checkpoint_document, round_line, write_round_line
from synergos_ttp.jobs.context import JobContext


@dataclass(frozen=True)
class FinishedRound:
    """Everything one round leaves behind, captured when it finished."""

    number: int
    total: int
    state: State
    server_state: State
    line: dict[str, Any]
    document: dict[str, Any]
    message: str


class RoundWriter:
    """Persist finished rounds in order on a background thread (see the module docstring)."""

    def __init__(self, run_dir: Path, job: JobContext, checkpoint_info: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.job = job
        self.checkpoint_info = checkpoint_info
        self._pending: queue.Queue[FinishedRound | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="ttp-round-writer",
                                        daemon=True)

    def __enter__(self) -> RoundWriter:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._pending.put(None)
        self._thread.join()
        if kind is None:
            self._raise_if_failed()

    def submit(self, number: int, total: int, state: State, server_state: State,
               history: dict[str, Any], message: str) -> None:
        """Queue round `number` (its `history` entries already recorded) to be made durable;
        waits while an earlier round is still queued. `state` must not be changed afterwards."""
        self._raise_if_failed()
        self._pending.put(FinishedRound(
            number=number, total=total, state=state, server_state=server_state,
            line=round_line(history), document=checkpoint_document(history), message=message))

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise EngineError(f"could not save a round checkpoint: {self._error}") from self._error

    def _drain(self) -> None:
        while (finished := self._pending.get()) is not None:
            if self._error is None:  # after a failure, later rounds are not written
                try:
                    self._persist(finished)
                except BaseException as error:  # reported by the next submit or the exit
                    self._error = error

    def _persist(self, finished: FinishedRound) -> None:
        write_round_line(self.run_dir, finished.line)
        path = save_checkpoint(checkpoint_path(self.run_dir, finished.number), finished.state,
                               finished.server_state, finished.document)
        self.job.save_checkpoint_info(
            {**self.checkpoint_info, "round": finished.number, "path": str(path)},
            progress=self.job.progress_entry(finished.number, finished.total, finished.message))
        drop_old_checkpoints(self.run_dir, finished.number)
