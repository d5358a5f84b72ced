"""`EngineSettings`: where the federated engine writes and how long it waits for Workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synarchive import Archive
from synergos_ttp.tracking import MlflowTracker

if TYPE_CHECKING:  # the TTP's config module imports the engine (through its API services)
    from synergos_ttp.config import TTPConfig

DEFAULT_POLL_TIMEOUT = 600.0
DEFAULT_CALL_TIMEOUT = 300.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_PAYLOAD_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class EngineSettings:
    """Engine configuration, built from the TTP's config (`from_ttp_config`).

    `outputs_dir`: run folders `<outputs>/<p>/<e>/<r>/` (checkpoints, final weights).
    `mlflow_uri`: MLflow tracking store (empty string: no tracking).
    `grid`: which node of each registration this TTP drives (0 for a basic TTP).
    `poll_timeout`: overall deadline of a Worker's preprocessing (seconds).
    `call_timeout`: read timeout of command-port calls (initialise, align, evaluate...).
    `worker_ca`: CA bundle verifying the certificates of Workers registered `secure: true`
    (None: the system CAs).
    """

    outputs_dir: Path
    mlflow_uri: str = ""
    grid: int = 0
    poll_timeout: float = DEFAULT_POLL_TIMEOUT
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    worker_ca: Path | None = None

    @classmethod
    def from_ttp_config(cls, config: TTPConfig) -> EngineSettings:
        """Settings of a TTP started with `config` (`synergos_ttp.config.TTPConfig`)."""
        return cls(outputs_dir=Path(config.node.outputs_dir), mlflow_uri=config.mlflow_uri,
                   grid=config.grid, worker_ca=config.worker_ca)

    def run_dir(self, project_id: str, expt_id: str, run_id: str) -> Path:
        """The output folder of one experiment x run combination."""
        return self.outputs_dir / project_id / expt_id / run_id


@dataclass(frozen=True)
class EngineEnv:
    """What every engine step works with: the archive, the settings and the MLflow tracker
    (`synergos_ttp.tracking.MlflowTracker`, or None when tracking is off)."""

    archive: Archive
    settings: EngineSettings
    tracker: MlflowTracker | None = None
