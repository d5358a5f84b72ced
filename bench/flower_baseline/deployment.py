"""Flower 1.41's deployment engine on 127.0.0.1: one SuperLink and one SuperNode process per
client, the way Flower runs across organisations, training `bench/common.py`'s task.

Everything runs from the binaries in `bench/.venv-flower` under a temporary `FLWR_HOME` that
holds the connection (`config.toml`) and the installed app, and is deleted at the end; every
process started here is stopped by its id, with every process it started in turn (SuperExecs,
ServerApp, ClientApps).

Isolation modes of the SuperNodes (`ISOLATIONS`):
- `subprocess` (Flower's default): each SuperNode starts its own `flower-superexec`, which
  starts one `flwr-clientapp` process per message.
- `process`: the SuperNodes start nothing; one long-lived `flower-superexec` per SuperNode,
  started here, launches the ClientApp processes. In 1.41 a `flwr-clientapp` still handles
  exactly one message and exits, in both modes.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from bench import common
from bench.flower_baseline.driver import REPO_ROOT, ensure_flower_venv
from synergos_testing.local_processes import LOOPBACK, free_port, tail

APP_DIR = Path(__file__).resolve().parent / "deployment_app"
CONNECTION = "bench"
ISOLATIONS = ("subprocess", "process")
DEFAULT_TIMEOUT_S = 900.0


class FlowerDeploymentError(RuntimeError):
    """A process of the deployment failed, or the run ended without measurements."""


def superlink_config_toml(connection: str, address: str) -> str:
    """`$FLWR_HOME/config.toml` naming one insecure SuperLink connection as the default."""
    if not connection.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"connection name must be alphanumeric (- and _ allowed): {connection!r}")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address must be host:port, got {address!r}")
    return (f'[superlink]\ndefault = "{connection}"\n\n'
            f'[superlink.{connection}]\naddress = "{address}"\ninsecure = true\n')


def config_pairs(values: dict[str, Any]) -> str:
    """The text of `flwr run --run-config` and `flower-supernode --node-config`:
    space-separated `key=value` pairs with TOML values. Flower finds the pairs with a regular
    expression before parsing them as TOML, so keys hold no space or `=`, and strings (in
    double quotes, their JSON escapes being TOML ones) no whitespace or quote."""
    pairs = []
    for key, value in values.items():
        if not key or any(c.isspace() or c == "=" for c in key):
            raise ValueError(f"config key {key!r} is empty or holds a space or '='")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(f"config value of {key!r} must be int, float or str, "
                            f"got {type(value).__name__}")
        if isinstance(value, str) and any(c.isspace() or c in "\"'" for c in value):
            raise ValueError(f"config value of {key!r} may not hold whitespace or a quote: "
                             f"{value!r}")
        pairs.append(f"{key}={json.dumps(value) if isinstance(value, str) else repr(value)}")
    return " ".join(pairs)


class Deployment:
    """The processes of one deployment: start them, wait for ports, stop them all by id."""

    def __init__(self, home: Path, isolation: str) -> None:
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
        self.home = home
        self.isolation = isolation
        self.bin = ensure_flower_venv().parent
        self.env = {**os.environ, "FLWR_HOME": str(home / "flwr"),
                    "PATH": os.pathsep.join((str(self.bin), os.environ.get("PATH", ""))),
                    "PYTHONPATH": str(REPO_ROOT), "FLWR_TELEMETRY_ENABLED": "0",
                    "FLWR_DISABLE_UPDATE_CHECK": "1", "PYTHONUNBUFFERED": "1",
                    "OMP_NUM_THREADS": "1"}
        self.processes: dict[str, subprocess.Popen] = {}
        (home / "logs").mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        """Start `command` (a binary of the Flower venv) in its own session, logging to
        `logs/<name>.log`."""
        with open(self.log_path(name), "ab") as log_file:
            process = subprocess.Popen([str(self.bin / command[0]), *command[1:]],
                                       cwd=self.home, env=self.env, stdout=log_file,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def log_path(self, name: str) -> Path:
        """Where process `name` writes its output."""
        return self.home / "logs" / f"{name}.log"

    def start_superlink(self) -> str:
        """Start the SuperLink (one HTTP port for Fleet, Control and runtime APIs); write the
        connection into `$FLWR_HOME/config.toml`; returns its address."""
        address = f"{LOOPBACK}:{free_port()}"
        flwr_home = Path(self.env["FLWR_HOME"])
        flwr_home.mkdir(parents=True, exist_ok=True)
        (flwr_home / "config.toml").write_text(superlink_config_toml(CONNECTION, address),
                                               encoding="utf-8")
        host, _, port = address.rpartition(":")
        self.start("superlink", ["flower-superlink", "--insecure", "--host", host,
                                 "--port", port, "--disable-runtime-dependency-installation"])
        return address

    def start_supernode(self, index: int, n_clients: int, superlink: str) -> None:
        """Write SuperNode `index`'s partition of `n_clients` to its own file, start the
        SuperNode, and in `process` isolation the long-lived SuperExec that runs its
        ClientApps."""
        data_path = self.home / "data" / f"client_{index}.npz"
        data_path.parent.mkdir(exist_ok=True)
        features, labels = common.client_data(index, n_clients)
        np.savez(data_path, features=features, labels=labels)
        runtime_port = free_port()
        self.start(f"supernode_{index}", [
            "flower-supernode", "--insecure", "--superlink", superlink,
            "--isolation", self.isolation, "--host", LOOPBACK, "--port", str(runtime_port),
            "--node-config", config_pairs({"partition-id": index,
                                              "data-path": str(data_path)})])
        if self.isolation == "process":
            self.start(f"superexec_{index}", [
                "flower-superexec", "--insecure",
                "--runtime-api-address", f"{LOOPBACK}:{runtime_port}"])

    def wait_listening(self, name: str, address: str, deadline: float) -> None:
        """Return once `address` accepts a TCP connection; fail when process `name` exits or
        `deadline` (monotonic) passes."""
        host, _, port = address.rpartition(":")
        while True:
            with contextlib.suppress(OSError), socket.create_connection((host, int(port)),
                                                                        timeout=1.0):
                return
            self.check_alive(name)
            if time.monotonic() > deadline:
                raise FlowerDeploymentError(f"{name} does not listen on {address}:\n"
                                            f"{tail(self.log_path(name))}")
            time.sleep(0.1)

    def check_alive(self, *names: str) -> None:
        """Raise, with its log's end, if one of the named (default: all) processes ended."""
        for name in names or tuple(self.processes):
            code = self.processes[name].poll()
            if code is not None:
                raise FlowerDeploymentError(f"{name} exited with {code}:\n"
                                            f"{tail(self.log_path(name))}")

    def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM every process started here and every descendant (the SuperLink's SuperExec
        starts the ServerApp in a session of its own, so a process group is not enough),
        wait, SIGKILL what is left. Descendants are listed before any is signalled: once
        their parent is gone they belong to init and cannot be found from here."""
        tree: list[psutil.Process] = []
        for process in self.processes.values():
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(process.pid)
                tree += [root, *root.children(recursive=True)]
        for member in tree:
            with contextlib.suppress(psutil.Error):
                member.terminate()
        _, alive = psutil.wait_procs(tree, timeout=timeout)
        for member in alive:  # e.g. a ServerApp retrying its final status report
            with contextlib.suppress(psutil.Error):
                member.kill()
        psutil.wait_procs(alive, timeout=10)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)


def run_flower_deployment(n_clients: int, isolation: str = "subprocess", model: str = "logreg",
                          *, rounds: int = common.ROUNDS, local_steps: int | None = None,
                          timeout_s: float = DEFAULT_TIMEOUT_S,
                          keep_dir: Path | None = None) -> dict[str, Any]:
    """Train the task on a fresh deployment of `n_clients` SuperNodes; returns `startup_s`
    (nothing running -> round 1 starts), `round_s`, `steady_round_s` (median of rounds 2..R),
    `submit_to_trained_s` (`flwr run` -> final model evaluated), `total_s` (nothing running ->
    final model evaluated), `test_accuracy`, `test_loss`. With `keep_dir` the FLWR_HOME and
    the processes' logs are kept there instead of in a temporary directory."""
    if n_clients < 1 or rounds < 1:
        raise ValueError("n_clients and rounds must be at least 1")
    started = time.time()
    deadline = time.monotonic() + timeout_s
    with (contextlib.nullcontext(str(keep_dir)) if keep_dir else
          tempfile.TemporaryDirectory(prefix="flower-deployment-")) as home_name:
        home = Path(home_name)
        result_path = home / "result.json"
        with Deployment(home, isolation) as deployment:
            superlink = deployment.start_superlink()
            deployment.wait_listening("superlink", superlink, deadline)
            for index in range(n_clients):
                deployment.start_supernode(index, n_clients, superlink)
            submitted = time.time()
            run_config = config_pairs({
                "num-clients": n_clients, "rounds": rounds, "model": model,
                "local-steps": local_steps or 0, "started-at": started,
                "result-path": str(result_path)})
            flwr_run = deployment.start("flwr_run", [
                "flwr", "run", str(APP_DIR), CONNECTION, "--run-config", run_config,
                "--stream"])
            _wait_for_result(deployment, flwr_run, result_path, deadline)
            measured = json.loads(result_path.read_text(encoding="utf-8"))
    return {
        "system": f"flower deployment ({isolation})", "path": f"deployment-{isolation}",
        "clients": n_clients, "model": model, "isolation": isolation,
        "parameters": common.count_parameters(common.build_model(model)), "rounds": rounds,
        "local_steps": local_steps, **measured,
        "submit_to_trained_s": round(measured["total_s"] - (submitted - started), 4),
    }


def _wait_for_result(deployment: Deployment, flwr_run: subprocess.Popen, result_path: Path,
                     deadline: float) -> None:
    """Wait for `flwr run --stream` to end (it follows the run's logs to its end) and for the
    ServerApp's result file; fail early when a process of the deployment dies."""
    while flwr_run.poll() is None:
        deployment.check_alive(*(n for n in deployment.processes if n != "flwr_run"))
        if time.monotonic() > deadline:
            raise FlowerDeploymentError(f"the run did not end in time:\n"
                                        f"{tail(deployment.log_path('superlink'))}")
        with contextlib.suppress(subprocess.TimeoutExpired):
            flwr_run.wait(timeout=1.0)
    if not result_path.exists():
        raise FlowerDeploymentError(
            f"flwr run ended ({flwr_run.returncode}) without a result:\n"
            f"{tail(deployment.log_path('flwr_run'))}\n{tail(deployment.log_path('superlink'))}")
