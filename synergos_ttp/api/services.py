"""The dependencies the TTP's REST handlers use, carried by the Flask app (no module globals).

`install_services(app, services)` stores them in `app.extensions["synergos_ttp"]`;
handlers read them with `current_services()`. The Director builds its own `TTPServices` and
installs it on its app to reuse the connect namespaces unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

EXTENSION_KEY = "synergos_ttp"
DEFAULT_MAX_MODEL_PARAMETERS = 50_000_000
MODES = ("basic", "cluster")


@dataclass
class TTPServices:
    """What the handlers need: the archive, the job runner, limits and the serving mode.

    `extras` is free for later features (e.g. the federated engine, the MQ producer).
    """

    archive: Any
    job_runner: Any = None
    mode: str = "basic"
    max_model_parameters: int = DEFAULT_MAX_MODEL_PARAMETERS
    config: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

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
    if services is None:
        raise RuntimeError("TTP services are not installed on this app (install_services)")
    return services
