"""A Worker image installs the `worker` extra only: every module the image check loads for the
Worker role (`docker/check_role.py`) must import without the libraries that only the TTP's extra
brings. Run here on the full environment with those libraries hidden, so `make test` catches a
Worker import of a TTP-only library before an image build does."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

from tests.deploy.tools import REPOSITORY_ROOT, distribution_name, requirements_with

pytestmark = pytest.mark.timeout(300)
sys.path.insert(0, str(REPOSITORY_ROOT / "docker"))
from check_role import MODULES  # noqa: E402

# Imports the Worker's modules with the named top-level modules made unimportable.
PROBE = """
import importlib, importlib.abc, json, sys
hidden = set(json.loads(sys.argv[1]))

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the worker extra)")
        return None

sys.meta_path.insert(0, Hide())
for module in json.loads(sys.argv[2]):
    importlib.import_module(module)
"""


def _extra(extra: str) -> set[str]:
    """The distribution names installing synergos with `extra` asks for."""
    return {distribution_name(requirement.name)
            for requirement in requirements_with("synergos", frozenset({extra}))}


def _top_level_modules(distributions: set[str]) -> set[str]:
    """The top-level modules that belong only to `distributions`."""
    return {module for module, owners in importlib.metadata.packages_distributions().items()
            if owners and {distribution_name(owner) for owner in owners} <= distributions}


def test_the_worker_roles_modules_import_with_the_worker_extra_alone() -> None:
    ttp_only = _extra("ttp") - _extra("worker")
    assert {"mlflow", "optuna", "pika"} <= ttp_only, ttp_only
    hidden = _top_level_modules(ttp_only)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(sorted(hidden)), json.dumps(MODULES["worker"])],
        capture_output=True, text=True, timeout=240, check=False,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT)})
    assert done.returncode == 0, f"hidden {sorted(hidden)}:\n{done.stderr[-3000:]}"
