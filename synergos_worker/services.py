"""The dependencies the Worker's handlers use, carried by its Flask apps (no module globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from flask import Flask, current_app

from synergos_worker.preprocessing_jobs import PreprocessingJobs
from synergos_worker.project_store import ProjectStore
from synergos_worker.state import RunRegistry
from synergos_worker.tensors import TensorCache

EXTENSION_KEY = "synergos_worker"
DEFAULT_MAX_MODEL_PARAMETERS = 50_000_000


def default_device() -> torch.device:
    """The first visible GPU when there is one (see `--gpus`), else the CPU."""
    return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


@dataclass
class WorkerServices:
    """Data and output folders, poll jobs, live runs and shared tensors of one Worker."""

    data_dir: Path
    outputs_dir: Path
    store: ProjectStore
    jobs: PreprocessingJobs
    runs: RunRegistry = field(default_factory=RunRegistry)
    tensor_cache: TensorCache = field(init=False)
    device: torch.device = field(default_factory=default_device)
    max_model_parameters: int = DEFAULT_MAX_MODEL_PARAMETERS

    def __post_init__(self) -> None:
        self.tensor_cache = TensorCache(self.outputs_dir)

    @classmethod
    def create(cls, data_dir: Path | str, outputs_dir: Path | str) -> WorkerServices:
        """Services for a Worker reading `data_dir` and writing under `outputs_dir`."""
        store = ProjectStore(outputs_dir)
        jobs = PreprocessingJobs(data_dir, outputs_dir, store)
        return cls(data_dir=Path(data_dir), outputs_dir=Path(outputs_dir), store=store,
                   jobs=jobs)


def install_services(app: Flask, services: WorkerServices) -> None:
    """Attach `services` to `app` for the Worker's handlers."""
    app.extensions[EXTENSION_KEY] = services


def current_services() -> WorkerServices:
    """The `WorkerServices` of the app serving the current request."""
    services = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(services, WorkerServices):
        raise RuntimeError("Worker services are not installed on this app (install_services)")
    return services
