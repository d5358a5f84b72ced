"""The Flower 1.41 baseline of the benchmarks: the same task as Synergos, run on Flower's
simulation engine and on its deployment engine, in its own venv (`bench/.venv-flower`).

Project venv: `run_flower_baseline(n_clients, path, model) -> dict` (simulation, see
`driver`); `deployment.run_flower_deployment(n_clients, isolation) -> dict` (a SuperLink and
one SuperNode process per client).
Flower venv: `run_flower.py` (CLI, one JSON line), `legacy_sim`, `message_sim`,
`message_api`, `client_work`, `deployment_app/` (the ServerApp and ClientApp).
"""

from __future__ import annotations

from .driver import FlowerBaselineError, run_flower_baseline

__all__ = ["FlowerBaselineError", "run_flower_baseline"]
