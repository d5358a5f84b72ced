"""Start Synergos nodes as local subprocesses on 127.0.0.1 and stop every one of them.

Used by the demos, the notebook, tests and benchmarks: `NodeProcesses` starts
`python -m synergos_worker|synergos_ttp|synergos_director` with free ports and generated
tokens, waits for their `/health`, and `stop_all()` ends each process it started (SIGTERM,
then SIGKILL), also when the caller is interrupted. A node also gets SIGTERM when the thread
that started it ends (`die_with_parent`), so a harness killed outright (SIGKILL, a `timeout`)
leaves no node behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# loaded before any fork: the child runs only the prctl call between fork and exec
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


_GIVEN_PORTS: set[int] = set()
_GIVEN_PORTS_LOCK = threading.Lock()
_PORT_RANDOM = random.SystemRandom()
LOWEST_TEST_PORT = 10000


def _ephemeral_port_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux default 32768-60999)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


@functools.cache
def _candidate_ports() -> range:
    """Ports a node may be told to listen on: the larger stretch outside the ephemeral range,
    because any outgoing connection on the machine may take an ephemeral port between
    `free_port()` and the node's bind (seen in CI: a Worker's data port was taken)."""
    low, high = _ephemeral_port_range()
    below, above = range(LOWEST_TEST_PORT, low), range(high + 1, 65536)
    return below if len(below) >= len(above) else above


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now, outside the ephemeral range, and
    never one this process handed out before (two nodes told the same port would have the
    later one fail while the earlier one answers its health check)."""
    candidates = _candidate_ports()
    with _GIVEN_PORTS_LOCK:
        while True:
            port = _PORT_RANDOM.choice(candidates)
            if port in _GIVEN_PORTS:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind((LOOPBACK, port))
                except OSError:
                    continue
            _GIVEN_PORTS.add(port)
            return port


def die_with_parent(signal_number: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` making the child receive `signal_number` when the thread that started
    it ends (Linux `PR_SET_PDEATHSIG`; None elsewhere): the parent killed outright cannot
    orphan it. Start nodes from a thread that lives as long as they should (the main one)."""
    libc = _LIBC
    if libc is None:
        return None
    parent = os.getpid()

    def set_parent_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal_number, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os.kill(os.getpid(), signal_number)

    return set_parent_death_signal


def new_token() -> str:
    """A fresh bearer token."""
    return secrets.token_urlsafe(24)


@dataclass
class Node:
    """One started node: its process, ports, token and log file."""

    name: str
    process: subprocess.Popen
    port: int
    token: str
    log_path: Path
    data_port: int | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<command port>`."""
        return f"http://{LOOPBACK}:{self.port}"


@dataclass
class NodeProcesses:
    """The nodes started for one session; a context manager that stops them on exit."""

    log_dir: Path
    nodes: list[Node] = field(default_factory=list)

    def __enter__(self) -> NodeProcesses:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()

    def start_worker(self, name: str, data_dir: Path, outputs_dir: Path,
                     extra_args: tuple[str, ...] = ()) -> Node:
        """Start a Worker serving `data_dir` (does not wait for it); `extra_args` are more
        Worker flags (e.g. `("--cpus", "1")`)."""
        data_port = free_port()
        node = self._start(name, "synergos_worker", [
            "--data_dir", str(data_dir), "--outputs_dir", str(outputs_dir),
            "--data_port", str(data_port), *extra_args])
        node.data_port = data_port
        return node

    def start_ttp(self, name: str, data_dir: Path, outputs_dir: Path,
                  extra_args: tuple[str, ...] = ()) -> Node:
        """Start a TTP (does not wait for it); `extra_args` are more TTP flags (e.g.
        `("--grid", "1", "--queue", "rabbitmq", host, port)` for a cluster TTP)."""
        return self._start(name, "synergos_ttp", ["--data_dir", str(data_dir),
                                                  "--outputs_dir", str(outputs_dir),
                                                  *extra_args])

    def start_director(self, name: str, data_dir: Path, outputs_dir: Path,
                       amqp_port: int) -> Node:
        """Start a Director publishing to the RabbitMQ broker on 127.0.0.1:`amqp_port`."""
        return self._start(name, "synergos_director", [
            "--data_dir", str(data_dir), "--outputs_dir", str(outputs_dir),
            "--queue", "rabbitmq", LOOPBACK, str(amqp_port)])

    def wait_healthy(self, timeout: float = 120.0) -> None:
        """Wait until every started node answers `GET /health`; raise with the log tail of
        one that exits or stays silent."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while True:
                if node.process.poll() is not None:
                    raise RuntimeError(f"{node.name} exited early:\n{tail(node.log_path)}")
                try:
                    if requests.get(node.base_url + "/health", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{node.name} is not healthy:\n{tail(node.log_path)}")
                time.sleep(0.1)

    def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM every running node, wait, SIGKILL the ones still there."""
        running = [node for node in self.nodes if node.process.poll() is None]
        for node in running:
            _signal(node, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node in running:
            try:
                node.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal(node, signal.SIGKILL)
                node.process.wait(timeout=10)

    def _start(self, name: str, module: str, args: list[str]) -> Node:
        port, token = free_port(), new_token()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
               "SYNERGOS_TOKEN": token}
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", module, "--host", LOOPBACK, "--port", str(port), *args],
                stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                preexec_fn=die_with_parent())
        node = Node(name, process, port, token, log_path)
        self.nodes.append(node)
        return node


def failure_exit(processes: NodeProcesses, error: BaseException, what: str) -> int:
    """Say on stderr why `what` (e.g. "demo") stopped, with every node's log tail when it
    failed, and return its exit code: 130 when interrupted, else 1."""
    if isinstance(error, KeyboardInterrupt):
        print("\ninterrupted: stopping every process", file=sys.stderr)
        return 130
    print(f"\n{what} failed: {error}", file=sys.stderr)
    for node in processes.nodes:
        print(f"--- {node.name} log tail ---\n{tail(node.log_path, 1500)}", file=sys.stderr)
    return 1


def tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return ""


def _signal(node: Node, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.process.pid, number)
