"""The dependencies the TTP's REST handlers use, carried by the Flask app (no module globals).

`install_services(app, services)` stores them in `app.extensions["synergos_ttp"]`;
handlers read them with `current_services()`. The Director builds its own `TTPServices` and
installs it on its app to reuse the connect namespaces unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from synarchive import Archive
    from synergos_ttp.config import TTPConfig
    from synergos_ttp.engine.service import FederatedEngine
    from synergos_ttp.jobs import JobRunner
    from synergos_ttp.optimization import OptimizationService

EXTENSION_KEY = "synergos_ttp"
DEFAULT_MAX_MODEL_PARAMETERS = 50_000_000
MODES = ("basic", "cluster")


@dataclass
class TTPServices:
    """What the handlers need: the archive, the job runner, limits, the serving mode, and
    the federated engine and optimisation service when the node runs them (routes that
    need one answer 503 without it; the optimisation service is made from the engine on
    first use when none is given)."""

    archive: Archive
    job_runner: JobRunner | None = None
    mode: str = "basic"
    max_model_parameters: int = DEFAULT_MAX_MODEL_PARAMETERS
    config: TTPConfig | None = None
    engine: FederatedEngine | None = None
    optimizations: OptimizationService | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        limit = self.max_model_parameters
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_model_parameters must be a positive integer, got {limit!r}")


def install_services(app: Flask, services: TTPServices) -> None:
    """Attach `services` to `app` for the handlers of every TTP namespace."""
    app.extensions[EXTENSION_KEY] = services


def current_services() -> TTPServices:
    """The `TTPServices` of the app serving the current request."""
    services = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(services, TTPServices):
        raise RuntimeError("TTP services are not installed on this app (install_services)")
    return services
