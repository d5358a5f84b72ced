"""`apply_resource_caps`: the `--cpus`/`--gpus` caps applied to this process."""

from __future__ import annotations

import os
from typing import Any


def apply_resource_caps(cpus: int | None, gpus: int | None) -> dict[str, Any]:
    """Limit torch's CPU threads to `cpus` and expose only the first `gpus` GPUs.

    Call before anything initialises CUDA; returns what was applied.
    """
    applied: dict[str, Any] = {}
    if gpus is not None:
        if gpus < 0:
            raise ValueError("gpus cannot be negative")
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is not None and visible.strip():
            devices = [item.strip() for item in visible.split(",") if item.strip()][:gpus]
        else:
            devices = [str(index) for index in range(gpus)]
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
        applied["cuda_visible_devices"] = os.environ["CUDA_VISIBLE_DEVICES"]
    if cpus is not None:
        if cpus < 1:
            raise ValueError("cpus must be at least 1")
        threads = min(cpus, os.cpu_count() or cpus)
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(threads)
        applied["cpu_threads"] = threads
        try:
            import torch
        except ImportError:
            return applied
        torch.set_num_threads(threads)
        applied["torch_threads"] = torch.get_num_threads()
    return applied
