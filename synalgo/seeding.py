"""Seeded, self-contained randomness: code under `seeded_rng` draws from a fresh seed and
leaves the process's random state as it found it.

`torch.manual_seed` also seeds every accelerator backend, and for backends that are not
initialised it records a stack trace each call, a visible share of a Worker's CPU in a small
round (`docs/benchmarks.md`). Only the generators that are forked, and so restored afterwards,
are seeded here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def seeded_rng(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Fork the CPU generator (and `device`'s when it is a CUDA device), seed them, and
    restore them on exit."""
    devices: list[int] = []
    if device is not None and device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        if devices:
            with torch.cuda.device(devices[0]):
                torch.cuda.manual_seed(seed)
        yield
