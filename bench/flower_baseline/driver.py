"""Project-venv side of the Flower baseline: run `run_flower.py` in `bench/.venv-flower` (set up
on first use) as a subprocess and return its JSON measurements as a dict."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FLOWER_VENV = REPO_ROOT / "bench" / ".venv-flower"
FLOWER_PYTHON = FLOWER_VENV / "bin" / "python"
SETUP_SCRIPT = HERE / "setup_venv.sh"
RUN_SCRIPT = HERE / "run_flower.py"
PATHS = ("legacy", "run_simulation")
DEFAULT_TIMEOUT_S = 300.0


class FlowerBaselineError(RuntimeError):
    """The Flower venv could not be set up, or a Flower run failed or printed no result."""


def ensure_flower_venv() -> Path:
    """Create `bench/.venv-flower` when it is missing or incomplete; returns its python."""
    ready = FLOWER_PYTHON.exists() and (FLOWER_VENV / ".flower-installed").exists()
    if not ready:
        print(f"setting up the Flower venv in {FLOWER_VENV} (a few minutes, once)",
              file=sys.stderr, flush=True)
        completed = subprocess.run(["bash", str(SETUP_SCRIPT)], capture_output=True, text=True,
                                   check=False)
        if completed.returncode != 0:
            raise FlowerBaselineError(f"{SETUP_SCRIPT} failed ({completed.returncode}):\n"
                                      f"{_tail(completed.stderr)}")
    return FLOWER_PYTHON


def run_flower_baseline(n_clients: int, path: str = "legacy", model: str = "logreg", *,
                        rounds: int | None = None, local_steps: int | None = None,
                        cpus: float | None = None, actors: int | None = None,
                        timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Run the benchmark task on Flower with `n_clients` clients through `path` ("legacy" =
    start_simulation, "run_simulation" = ServerApp/ClientApp) and return its measurements:
    `startup_s`, `round_s`, `steady_round_s`, `total_s`, `test_accuracy`, `test_loss`, ... plus
    `process_wall_s` (spawn to exit, as seen from here)."""
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    if n_clients < 1:
        raise ValueError(f"n_clients must be at least 1, got {n_clients}")
    python = ensure_flower_venv()
    command = [str(python), str(RUN_SCRIPT), "--clients", str(n_clients), "--path", path,
               "--model", model]
    for flag, value in (("--rounds", rounds), ("--local_steps", local_steps), ("--cpus", cpus),
                        ("--actors", actors)):
        if value is not None:
            command += [flag, str(value)]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "FLWR_TELEMETRY_ENABLED": "0",
           "PYTHONPATH": str(REPO_ROOT)}
    spawned = time.monotonic()
    # Its own process group, so a run that overstays is stopped with Ray's helpers.
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        _kill_group(process)
        _, stderr = process.communicate()
        raise FlowerBaselineError(f"Flower run {command[2:]} exceeded {timeout_s:.0f} s:\n"
                                  f"{_tail(stderr)}") from error
    wall = time.monotonic() - spawned
    result = parse_result(stdout)
    if process.returncode != 0 or result is None:
        raise FlowerBaselineError(f"Flower run {command[2:]} failed "
                                  f"(exit {process.returncode}):\n{_tail(stderr)}")
    result["process_wall_s"] = round(wall, 4)
    return result


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The last JSON object line of `run_flower.py`'s output that is a Flower result."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("system") == "flower":
            return data
    return None


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the run's process group; called before the leader is reaped, so the group id
    cannot have been reused."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
