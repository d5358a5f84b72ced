"""`WideAreaNetwork`: a hub namespace (the TTP's) and one namespace per site (a Worker's),
each site joined to the hub by its own emulated link (rate and bounded queue in the kernel,
`topology.py`; one-way delay in one forwarder process for all links, `link.py`), through two
router namespaces. Site `i` is 10.213.i.2, and the hub is 10.213.i.1 on that link.
Everything made (namespaces, devices, processes) is removed by `close()`, also after a
failure; namespaces left by a process that was killed are swept at the next start."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synergos_testing.local_processes import die_with_parent
from tests.support.wide_area.bridge import NamespaceBridge
from tests.support.wide_area.namespaces import (
    NETNS_DIR,
    create_namespace,
    delete_namespace,
    ip,
)
from tests.support.wide_area.topology import LinkPlan, join_ends, shape_tuns

PREFIX = "swan"
MAX_SITES = 254
_NAME = re.compile(rf"^{PREFIX}(\d+)x\d+-")
_COUNTER = itertools.count()
REPOSITORY = str(Path(__file__).resolve().parents[3])


@dataclass(frozen=True)
class LinkShape:
    """What each site's link does: its rate (bit/s), round-trip time (s), the bytes its
    drop-tail queue holds (default one bandwidth-delay product, at least 64 KiB) and MTU."""

    rate_bps: float
    rtt_s: float
    queue_bytes: int | None = None
    mtu: int = 1500

    @property
    def queue(self) -> int:
        """The queue bound in bytes."""
        return self.queue_bytes or max(64 * 1024, int(self.rate_bps * self.rtt_s / 8))


@dataclass
class WideAreaNetwork:
    """The namespaces and links of one emulated wide-area network; use as a context manager."""

    workdir: Path
    sites: Sequence[str]
    shape: LinkShape
    # kernel settings for every namespace, e.g. {"net.ipv4.tcp_slow_start_after_idle": "0"}
    sysctls: dict[str, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}x{next(_COUNTER)}")
    _links: list[subprocess.Popen] = field(default_factory=list)
    _processes: list[subprocess.Popen] = field(default_factory=list)
    _bridges: list[NamespaceBridge] = field(default_factory=list)
    _namespaces: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 < len(self.sites) <= MAX_SITES or len(set(self.sites)) != len(self.sites):
            raise ValueError(f"sites must be 1 to {MAX_SITES} distinct names: {self.sites}")

    # ------------------------------------------------------------------ addresses
    @property
    def hub(self) -> str:
        """The hub's namespace."""
        return f"{self.tag}-hub"

    def namespace(self, site: str) -> str:
        """The namespace of `site`."""
        return f"{self.tag}-{self.sites.index(site)}"

    def address(self, site: str) -> str:
        """The address of `site` (the hub reaches it over the site's link)."""
        return self.plan(site).site_address

    def hub_address(self, site: str) -> str:
        """The hub's address on the link of `site`."""
        return self.plan(site).hub_address

    def plan(self, site: str) -> LinkPlan:
        """The devices and addresses of the link of `site`."""
        return LinkPlan(self.sites.index(site), self.hub, f"{self.tag}-rh", f"{self.tag}-rs",
                        self.namespace(site))

    # ------------------------------------------------------------------ life cycle
    def __enter__(self) -> WideAreaNetwork:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self, timeout: float = 30.0) -> None:
        """Create the namespaces and the links' devices, start the forwarder, and route and
        shape each link once its tun devices are open."""
        sweep_orphans()
        self.workdir.mkdir(parents=True, exist_ok=True)
        plans = [self.plan(site) for site in self.sites]
        routers = (plans[0].hub_router, plans[0].site_router)
        for name in (self.hub, *routers, *(self.namespace(site) for site in self.sites)):
            create_namespace(name)
            self._namespaces.append(name)
            settings = {"net.ipv4.ip_forward": "1"} if name in routers else self.sysctls
            for key, value in settings.items():
                ip("netns", "exec", name, "sysctl", "-q", "-w", f"{key}={value}")
        for plan in plans:
            join_ends(plan, self.shape.mtu)
        ready_file = self._start_forwarder(plans)
        deadline = time.monotonic() + timeout
        forwarder = self._links[0]
        while not ready_file.exists():
            if forwarder.poll() is not None:
                log = ready_file.with_suffix(".log").read_text(errors="replace")
                raise RuntimeError(f"link process failed:\n{log[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"links not up within {timeout} s: {ready_file}")
            time.sleep(0.02)
        for plan in plans:
            shape_tuns(plan, self.shape.rate_bps, self.shape.queue)

    def popen(self, where: str, argv: Sequence[str], log_path: Path,
              env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start `argv` inside the hub (`where="hub"`) or a site's namespace, output to
        `log_path`; it is stopped by `close()`."""
        namespace = self.hub if where == "hub" else self.namespace(where)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", namespace, *argv], stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent(),
                env={**os.environ, **(env or {})})
        self._processes.append(process)
        return process

    def bridge(self, where: str, host: str, port: int) -> int:
        """A port on 127.0.0.1 here that relays to `host:port` inside the hub or a site."""
        namespace = self.hub if where == "hub" else self.namespace(where)
        bridge = NamespaceBridge(namespace, (host, port))
        self._bridges.append(bridge)
        return bridge.port

    def link_counts(self, timeout: float = 10.0) -> dict[str, dict]:
        """Per site: segments and IP bytes forwarded and packets dropped per direction
        (`a_to_b` is hub to site, with the connections the hub opened and the data-port
        requests it sent, by verb) and the forwarder's CPU seconds (one process for every
        link). Asks a running forwarder for a fresh snapshot and waits for it."""
        path = self.workdir / "links.counts.json"
        forwarder = self._links[0] if self._links else None
        if forwarder is not None and forwarder.poll() is None:
            before = _sequence(path)
            forwarder.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + timeout
            while _sequence(path) <= before:
                if time.monotonic() > deadline or forwarder.poll() is not None:
                    raise TimeoutError("the link forwarder wrote no counts")
                time.sleep(0.01)
        if not path.exists():
            return {}
        snapshot = json.loads(path.read_text())
        return {site: {**link, "cpu_s": snapshot["cpu_s"], "cpu_user_s": snapshot["cpu_user_s"]}
                for site, link in zip(self.sites, snapshot["links"], strict=True)}

    @property
    def link_processes(self) -> list[subprocess.Popen]:
        """The running forwarder (one process for every link)."""
        return list(self._links)

    def close(self) -> None:
        """Stop every process (by PID), the bridges and links, then delete the namespaces."""
        for bridge in self._bridges:
            bridge.close()
        self._bridges.clear()
        stop_processes(self._processes)
        stop_processes(self._links)
        self._processes.clear()
        self._links.clear()
        for name in reversed(self._namespaces):
            delete_namespace(name)
        self._namespaces.clear()

    def _start_forwarder(self, plans: list[LinkPlan]) -> Path:
        spec = {"links": [[plan.hub_tun, plan.site_tun] for plan in plans],
                "delay_s": self.shape.rtt_s / 2, "mtu": self.shape.mtu}
        spec_file = self.workdir / "links.json"
        spec_file.write_text(json.dumps(spec))
        ready_file = self.workdir / "links.ready"
        ready_file.unlink(missing_ok=True)
        with open(ready_file.with_suffix(".log"), "ab") as log:
            self._links.append(subprocess.Popen(
                [sys.executable, "-m", "tests.support.wide_area.link", str(spec_file),
                 str(ready_file)], stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent(), cwd=REPOSITORY,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(
                    filter(None, [REPOSITORY, os.environ.get("PYTHONPATH")]))}))
        return ready_file


def _sequence(path: Path) -> int:
    try:
        return json.loads(path.read_text())["sequence"]
    except FileNotFoundError:
        return 0


def stop_processes(processes: Sequence[subprocess.Popen], timeout: float = 15.0) -> None:
    """SIGTERM each process group (by its leader's PID), wait, SIGKILL what is left."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def sweep_orphans() -> None:
    """Delete this harness's namespaces whose creating process no longer runs."""
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(NETNS_DIR):
            match = _NAME.match(name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                delete_namespace(name)
