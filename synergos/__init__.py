"""Synergos Driver: drive a Synergos federated-learning grid from Python.

    from synergos import Driver
    driver = Driver(host="127.0.0.1", port=5000)   # token from env SYNERGOS_TOKEN
    driver.projects.create(project_id="p1", action="classify", incentives={})

Needs only `requests` and `tqdm`; DataFrames (`.to_frame()`, `read_predictions`) need pandas,
the `frames` extra.
"""

from __future__ import annotations

from synergos.driver import Driver
from synergos.errors import (
    AuthenticationError,
    ConflictError,
    InvalidResponseError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    ResponseTimeoutError,
    ServerError,
    SynergosError,
    UnreachableError,
    ValidationError,
)
from synergos.frames import read_predictions

__version__ = "0.2.0"

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "Driver",
    "InvalidResponseError",
    "JobFailedError",
    "JobTimeoutError",
    "NotFoundError",
    "ResponseTimeoutError",
    "ServerError",
    "SynergosError",
    "UnreachableError",
    "ValidationError",
    "__version__",
    "read_predictions",
]
