"""The Worker's command API: one flask-restx namespace mounted at `/worker`."""

from __future__ import annotations

from flask_restx import Namespace

from synergos_worker.api.align import register_align_routes
from synergos_worker.api.models import worker_models
from synergos_worker.api.poll import register_poll_routes
from synergos_worker.api.runs import register_run_routes

WORKER_PREFIX = "/worker"


def build_worker_namespace() -> Namespace:
    """A fresh `worker` namespace with poll, align, initialise, terminate and predict."""
    ns = Namespace("worker", description="Preprocessing, alignment and run lifecycle "
                                         "(called by the TTP)")
    models = worker_models(ns)
    register_poll_routes(ns, models)
    register_align_routes(ns, models)
    register_run_routes(ns, models)
    return ns
