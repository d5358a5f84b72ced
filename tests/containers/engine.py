"""A private Docker Engine for the container tests: its own data root, socket and pid file,
stopped by its PID, with the host network changes it makes (iptables chains and policy,
bridges, IP forwarding) undone afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
DOCKER_CLI = "/usr/bin/docker"  # Debian's docker.io CLI, matching its engine


@dataclass
class NetworkState:
    """What dockerd changes on the host, saved to be put back."""

    iptables_rules: str
    ip_forward: str
    links: set[str]

    @classmethod
    def save(cls) -> NetworkState:
        rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True,
                               timeout=30).stdout
        return cls(rules, Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(), _links())

    def restore(self) -> None:
        """Delete the bridges dockerd added, put the iptables rules and forwarding back."""
        for link in _links() - self.links:
            subprocess.run(["ip", "link", "delete", link], capture_output=True, timeout=30,
                           check=False)
        current = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True,
                                 timeout=30).stdout
        saved = _tables(self.iptables_rules)
        for table, builtins in _tables(current).items():
            if table in saved:
                continue
            # a table dockerd created: back to empty, every built-in chain accepting
            for chain in builtins:
                _iptables("-t", table, "-P", chain, "ACCEPT")
            _iptables("-t", table, "-F")
            _iptables("-t", table, "-X")
        if saved:
            subprocess.run(["iptables-restore"], input=self.iptables_rules, text=True,
                           capture_output=True, timeout=30, check=True)
        Path("/proc/sys/net/ipv4/ip_forward").write_text(self.ip_forward + "\n")


def _tables(rules: str) -> dict[str, list[str]]:
    """Table name -> its built-in chains (those with a policy), from iptables-save output."""
    tables: dict[str, list[str]] = {}
    table = ""
    for line in rules.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
            tables[table] = []
        elif line.startswith(":") and table and line.split()[1] != "-":
            tables[table].append(line[1:].split()[0])
    return tables


def _iptables(*args: str) -> None:
    subprocess.run(["iptables", *args], capture_output=True, timeout=30, check=True)


def _links() -> set[str]:
    listing = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                             check=True, timeout=30).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in listing.splitlines()}


@dataclass
class PrivateEngine:
    """A running private dockerd and how to reach it."""

    root: Path
    process: subprocess.Popen

    @property
    def host(self) -> str:
        return f"unix://{self.root / 'docker.sock'}"

    def environment(self) -> dict[str, str]:
        """The environment for docker / compose commands against this engine."""
        return {**os.environ, "DOCKER_HOST": self.host, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}

    def docker(self, *args: str, timeout: float = 120.0, check: bool = True,
               ) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this engine; on failure raise with its output."""
        result = subprocess.run([DOCKER_CLI, *args], capture_output=True, text=True,
                                env=self.environment(), timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stdout}"
                                 f"{result.stderr}")
        return result


def engine_available() -> str | None:
    """Why the container tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "the container tests start their own dockerd: run them as root"
    for tool in ("dockerd", "iptables-save", "ip", DOCKER_CLI):
        if not shutil.which(tool):
            return f"{tool} is missing: apt-get install docker.io"
    return None


@contextlib.contextmanager
def private_engine(root: Path) -> Iterator[PrivateEngine]:
    """Start dockerd on `root` (the data root persists there: the build cache survives runs),
    yield it, then stop it by PID and undo its network changes."""
    root.mkdir(parents=True, exist_ok=True)
    network = NetworkState.save()
    log = open(root / "dockerd.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        ["dockerd", "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
         "--host", f"unix://{root / 'docker.sock'}", "--pidfile", str(root / "dockerd.pid")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    engine = PrivateEngine(root, process)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while engine.docker("info", check=False, timeout=10).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start:\n{_tail(root / 'dockerd.log')}")
            time.sleep(0.25)
        yield engine
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
        network.restore()
        _unmount_below(root)


def _unmount_below(root: Path) -> None:
    """Unmount what dockerd left mounted under its root (its default network namespace)."""
    prefix = f"{root.resolve()}/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in reversed([m for m in mounts if m.startswith(prefix)]):
        subprocess.run(["umount", mount], capture_output=True, timeout=30, check=False)


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return ""
