"""The TTP's federated engine: grid, alignment (MFA), training rounds, validation, prediction.

`FederatedEngine(archive, runner, settings, tracker)` submits the engine's jobs and registers
their resumers; the building blocks (`align_project`, `CombinationTrainer`, `run_round`,
`validate_combination`, ...) are usable on their own, e.g. by a cluster TTP.
"""

from __future__ import annotations

from synergos_ttp.engine.combinations import Combination, select_runs
from synergos_ttp.engine.errors import EngineError, FeatureDriftError, WorkerCallError
from synergos_ttp.engine.grid import GridNode, build_grid
from synergos_ttp.engine.service import ENGINE_KINDS, FederatedEngine
from synergos_ttp.engine.settings import EngineEnv, EngineSettings

__all__ = [
    "ENGINE_KINDS",
    "Combination",
    "EngineEnv",
    "EngineError",
    "EngineSettings",
    "FeatureDriftError",
    "FederatedEngine",
    "GridNode",
    "WorkerCallError",
    "build_grid",
    "select_runs",
]
