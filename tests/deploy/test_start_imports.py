"""A node answers `/health` without loading the libraries only some of its work needs: MLflow
(tracking), Optuna (optimisation), Opacus and dp-accounting (differential privacy),
scikit-learn and SciPy (metrics, text columns). Each is imported on first use, so they add
nothing to a cold start; these tests keep that from regressing silently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synergos_testing.local_processes import LOOPBACK, free_port
from tests.deploy.tools import REPOSITORY_ROOT

pytestmark = pytest.mark.timeout(300)
ON_FIRST_USE = ("mlflow", "optuna", "opacus", "dp_accounting", "sklearn", "scipy")

# Runs a node's `main` in a fresh interpreter; when every port serves (the moment `/health`
# answers), prints the on-first-use libraries already loaded and asks the node to stop.
PROBE = """
import json, os, signal, sys
import synrest.server

def report(hook):
    loaded = sorted(name for name in {names!r} if name in sys.modules)
    print("LOADED " + json.dumps(loaded), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

synrest.server._run_started_hook = report
from {module}.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT), "MLFLOW_DISABLE_TELEMETRY": "true"}


def _loaded_when_serving(module: str, args: list[str]) -> list[str]:
    """The on-first-use libraries `module`'s node has loaded once its ports serve."""
    probe = PROBE.format(names=ON_FIRST_USE, module=module)
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                          text=True, env=_environment(), timeout=240, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("LOADED ")]
    assert lines, f"{module} never served (exit {done.returncode}):\n{done.stderr[-3000:]}"
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(lines[0].removeprefix("LOADED "))


@pytest.mark.parametrize("module", ["synergos_ttp", "synergos_worker", "synergos_director"])
def test_importing_a_node_loads_none_of_the_on_first_use_libraries(module: str) -> None:
    code = (f"import json, sys, {module}.__main__; "
            f"print(json.dumps([n for n in {ON_FIRST_USE!r} if n in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_environment(), timeout=240, check=True)
    assert json.loads(done.stdout) == []


def test_a_ttp_serves_before_loading_them(tmp_path: Path) -> None:
    loaded = _loaded_when_serving("synergos_ttp", [
        "--host", LOOPBACK, "--port", str(free_port()), "--insecure",
        "--data_dir", str(tmp_path / "data"), "--outputs_dir", str(tmp_path / "outputs")])
    assert loaded == []


def test_a_worker_serves_before_loading_them(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    loaded = _loaded_when_serving("synergos_worker", [
        "--host", LOOPBACK, "--port", str(free_port()), "--data_port", str(free_port()),
        "--insecure", "--data_dir", str(tmp_path / "data"),
        "--outputs_dir", str(tmp_path / "outputs")])
    assert loaded == []
