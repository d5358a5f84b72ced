"""The TTP connect API (`/ttp/connect`): projects, experiments, runs, participants,
registrations and tags. The Director mounts the same namespaces on its own app."""

from __future__ import annotations

from flask_restx import Namespace

from synergos_ttp.api.connect.experiments import build_experiments_namespace
from synergos_ttp.api.connect.participants import build_participants_namespace
from synergos_ttp.api.connect.projects import build_projects_namespace
from synergos_ttp.api.connect.registrations import build_registrations_namespace
from synergos_ttp.api.connect.runs import build_runs_namespace
from synergos_ttp.api.connect.tags import build_tags_namespace

CONNECT_PREFIX = "/ttp/connect"


def connect_namespaces(prefix: str = CONNECT_PREFIX) -> list[tuple[Namespace, str]]:
    """Fresh `(namespace, prefix)` pairs of every connect resource, for `create_app`."""
    builders = (build_projects_namespace, build_experiments_namespace, build_runs_namespace,
                build_participants_namespace, build_registrations_namespace,
                build_tags_namespace)
    return [(build(), prefix) for build in builders]


__all__ = ["CONNECT_PREFIX", "connect_namespaces"]
