"""Live runs of a Worker: the tensors, model and configuration of each initialised
(project, expt, run), kept apart per run, with a lock per run so that two calls on the same
run never interleave while different runs proceed in parallel."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from synalgo.strategies.base import Strategy
from synergos_worker.tensors import MetaTensors

if TYPE_CHECKING:  # Opacus (and SciPy) load on the first DP run, not at start-up
    from synalgo.privacy.worker_dp import WorkerPrivacy
    from synergos_worker.secure_rounds import SecureRound

RunKey = tuple[str, str, str]


class RunNotLive(LookupError):
    """No run with this key has been initialised (or it was terminated)."""


@dataclass(eq=False)
class RunState:
    """Everything a live run holds; use `lock` around any use of `model`. `fits` and
    `fit_seconds` count its local trainings, for the log line of its end. `privacy`: the run's
DP-SGD state (one privacy engine for all its rounds) when it asks for Worker-side DP."""

    project_id: str
    expt_id: str
    run_id: str
    participant_id: str
    action: str
    spec: list[dict[str, Any]]
    run: dict[str, Any]
    strategy: Strategy
    n_classes: int
    tensors: dict[str, MetaTensors]
    model: nn.Module
    client_state: dict[str, torch.Tensor] | None = None
    # what compressing this Worker's updates has lost so far (error feedback)
    update_residual: dict[str, torch.Tensor] = field(default_factory=dict)
    # the global model last received under compression, and the round it came in
    held_model: dict[str, torch.Tensor] | None = None
    held_round: int | None = None
    labels: list[str] = field(default_factory=list)
    privacy: WorkerPrivacy | None = None
    # the secure-aggregation round in progress (`synergos_worker.secure_rounds`)
    secure_round: SecureRound | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    fits: int = 0
    fit_seconds: float = 0.0

    @property
    def key(self) -> RunKey:
        """`(project_id, expt_id, run_id)`."""
        return (self.project_id, self.expt_id, self.run_id)

    def describe(self) -> dict[str, Any]:
        """What `initialise` answers: sample counts per meta and the number of classes."""
        return {
            "metas": {meta: {"n_samples": tensors.n_samples}
                      for meta, tensors in self.tensors.items()},
            "n_classes": self.n_classes,
        }


class RunRegistry:
    """Thread-safe map of live runs by `(project_id, expt_id, run_id)`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[RunKey, RunState] = {}

    def add(self, state: RunState) -> tuple[RunState, bool]:
        """Register `state` unless its key is live already; returns `(live state, created)`."""
        with self._lock:
            existing = self._runs.get(state.key)
            if existing is not None:
                return existing, False
            self._runs[state.key] = state
            return state, True

    def get(self, key: RunKey) -> RunState:
        """The live run with `key`; raises RunNotLive."""
        with self._lock:
            state = self._runs.get(key)
        if state is None:
            raise RunNotLive(key)
        return state

    def find(self, key: RunKey) -> RunState | None:
        """The live run with `key`, or None."""
        with self._lock:
            return self._runs.get(key)

    def remove(self, key: RunKey) -> RunState | None:
        """Forget the run (its tensors are freed once no call still uses them)."""
        with self._lock:
            return self._runs.pop(key, None)

    def keys(self) -> list[RunKey]:
        """Keys of every live run."""
        with self._lock:
            return list(self._runs)
