"""`create_ttp_app`: the TTP's Flask app (connect and jobs APIs), built without side effects.

Namespaces mounted: the connect API at `/ttp/connect`, the jobs API at `/ttp/jobs` and the
federated engine's train (with the optimisations) and evaluate APIs at `/ttp/train` and
`/ttp/evaluate`; the engine's handlers find the `FederatedEngine` in
`TTPServices.engine` (503 without one). Every POST honours `Idempotency-Key`
(`synergos_ttp.api.idempotency`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flask import Flask
from flask_restx import Namespace

from synarchive import Archive
from synergos_ttp.api.connect import connect_namespaces
from synergos_ttp.api.evaluate import EVALUATE_PREFIX, build_evaluate_namespace
from synergos_ttp.api.idempotency import STORE_NAME, IdempotencyStore, install_idempotency
from synergos_ttp.api.jobs import JOBS_PREFIX, build_jobs_namespace
from synergos_ttp.api.optimizations import build_optimizations_namespace
from synergos_ttp.api.services import TTPServices, install_services
from synergos_ttp.api.train import TRAIN_PREFIX, build_train_namespace
from synergos_ttp.config import TTPConfig
from synergos_ttp.engine.service import FederatedEngine
from synergos_ttp.jobs import JobRunner
from synergos_ttp.optimization import OptimizationService
from synrest.app_factory import create_app
from synrest.auth import resolve_token

TITLE = "Synergos TTP"
DESCRIPTION = ("Trusted third party of a Synergos grid: connect metadata (projects, "
               "experiments, runs, participants, registrations, tags), background jobs, "
               "alignment, federated training, validation and prediction.")


def ttp_namespaces() -> list[tuple[Namespace, str]]:
    """Fresh `(namespace, prefix)` pairs of every TTP API."""
    return [*connect_namespaces(), (build_jobs_namespace(), JOBS_PREFIX),
            (build_train_namespace(), TRAIN_PREFIX),
            (build_optimizations_namespace(), TRAIN_PREFIX),
            (build_evaluate_namespace(), EVALUATE_PREFIX)]


def create_ttp_app(
    config: TTPConfig,
    archive: Archive,
    job_runner: JobRunner | None,
    mode: str = "basic",
    *,
    token: str | None = None,
    extra_namespaces: Sequence[tuple[Namespace, str]] = (),
    engine: FederatedEngine | None = None,
    optimizations: OptimizationService | None = None,
) -> Flask:
    """Build the TTP app on `synrest.app_factory.create_app`; starts nothing.

    `token` defaults to `synrest.auth.resolve_token(config.node)` (None only with
    `--insecure`). `engine` and `optimizations` serve the train, evaluate and optimisation
    routes (503 without an engine).
    """
    if token is None:
        token = resolve_token(config.node)
    services = TTPServices(
        archive=archive, job_runner=job_runner, mode=mode,
        max_model_parameters=config.max_model_parameters, config=config,
        engine=engine, optimizations=optimizations,
    )
    app = create_app(config.node, TITLE, [*ttp_namespaces(), *extra_namespaces], token,
                     description=DESCRIPTION)
    install_services(app, services)
    install_idempotency(app, IdempotencyStore(Path(config.node.data_dir) / STORE_NAME))
    return app
