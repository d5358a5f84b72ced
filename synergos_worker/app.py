"""`create_worker_apps`: the Worker's two apps, built without side effects.

The command app (Flask) serves `/worker` (poll, align, initialise, terminate, predict) with
JSON bodies; the data app (`synrest.binary_app.BinaryPortApp`) serves
`/data/<project_id>/<expt_id>/<run_id>/{fit,evaluate,predict}` with binary bodies up to
`max_body_bytes`. Both require the bearer token (except `/health` and the API docs) and share
one `WorkerServices`.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Flask

from synergos_worker.api import WORKER_PREFIX, build_worker_namespace
from synergos_worker.config import WorkerConfig
from synergos_worker.data_port import build_data_app
from synergos_worker.services import WorkerServices, install_services
from synrest.app_factory import create_app
from synrest.binary_app import BinaryPortApp

TITLE = "Synergos Worker"
DESCRIPTION = ("Worker of a Synergos grid: preprocesses this participant's private data and "
               "serves the TTP's alignment and run lifecycle calls. Only aggregates leave it.")


def create_worker_apps(config: WorkerConfig, services: WorkerServices, token: str | None
                       ) -> tuple[Flask, BinaryPortApp]:
    """`(command_app, data_app)` for this Worker; `token` None means no authentication."""
    command_app = create_app(config.node, TITLE, [(build_worker_namespace(), WORKER_PREFIX)],
                             token, description=DESCRIPTION)
    install_services(command_app, services)
    data_node = replace(config.node, port=config.data_port)
    data_app = build_data_app(data_node, services, token, config.max_body_bytes)
    return command_app, data_app
