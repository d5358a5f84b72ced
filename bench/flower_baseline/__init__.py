"""The Flower 1.41 baseline of the benchmarks: the same task as Synergos, run on Flower's
simulation engine in its own venv (`bench/.venv-flower`).

Project venv: `run_flower_baseline(n_clients, path, model) -> dict` (see `driver`).
Flower venv: `run_flower.py` (CLI, one JSON line), `legacy_sim`, `message_sim`, `client_work`.
"""

from __future__ import annotations

from .driver import FlowerBaselineError, run_flower_baseline

__all__ = ["FlowerBaselineError", "run_flower_baseline"]
