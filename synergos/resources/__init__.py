"""One class per REST resource of the TTP, each exposed as an attribute of `Driver`."""

from __future__ import annotations

from synergos.resources.alignments import Alignments
from synergos.resources.base import Resource
from synergos.resources.contributions import Contributions
from synergos.resources.experiments import Experiments
from synergos.resources.jobs import Jobs
from synergos.resources.models import Models
from synergos.resources.optimizations import Optimizations
from synergos.resources.participants import Participants
from synergos.resources.predictions import Predictions
from synergos.resources.projects import Projects
from synergos.resources.registrations import Registrations
from synergos.resources.runs import Runs
from synergos.resources.tags import Tags
from synergos.resources.validations import Validations

__all__ = [
    "Alignments",
    "Contributions",
    "Experiments",
    "Jobs",
    "Models",
    "Optimizations",
    "Participants",
    "Predictions",
    "Projects",
    "Registrations",
    "Resource",
    "Runs",
    "Tags",
    "Validations",
]
