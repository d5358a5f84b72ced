"""Synergos across a `WideAreaNetwork`: the TTP in the hub namespace (TLS on its REST port,
reached by the Driver through a bridge on 127.0.0.1), one Worker per site namespace on the
site's address, every TTP-to-Worker call crossing that site's emulated link. With
`worker_tls`, each Worker serves HTTPS on both ports with a certificate from a test CA that
the TTP verifies (`--worker_ca`, registrations `secure: true`), and logs an access line per
request (`--debug`), the only place its requests can be counted: they cross the link
encrypted."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from synergos import Driver
from tests.support.certificates import write_ca, write_self_signed_cert, write_signed_cert
from tests.support.wide_area.network import WideAreaNetwork

TTP_PORT = 5000
WORKER_PORT = 5001
WORKER_DATA_PORT = 5002
TTP_TOKEN = "wide-area-ttp-token-0123456789"
NODE_ENV = {"PYTHONUNBUFFERED": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}


def worker_token(site: str) -> str:
    """The bearer token of the Worker at `site`."""
    return f"wide-area-worker-{site}-0123456789"


@dataclass
class WideAreaGrid:
    """A TTP and Workers started inside `network`; stopped when the network closes."""

    network: WideAreaNetwork
    home: Path
    tls: bool = True
    worker_tls: bool = False
    cert: Path | None = None
    worker_ca: Path | None = None
    ttp_bridge_port: int | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, data_roots: dict[str, Path], worker_args: Sequence[str] = (),
              ttp_args: Sequence[str] = (), timeout: float = 180.0) -> None:
        """Start one Worker per site (with its data root) and the TTP; wait for health."""
        bridges = {}
        ttp_args = [*ttp_args, *self._issue_worker_certificates(data_roots)]
        for site, root in data_roots.items():
            address = self.network.address(site)
            self._start(site, "synergos_worker", [
                "--host", address, "--port", str(WORKER_PORT), "--data_port",
                str(WORKER_DATA_PORT), "--data_dir", str(root), "--outputs_dir",
                str(self.home / site / "outputs"), "--token", worker_token(site),
                *self._worker_tls_args(site), *worker_args])
            bridges[site] = self.network.bridge(site, address, WORKER_PORT)
        tls_args: list[str] = []
        if self.tls:
            folder = self.home / "tls"
            folder.mkdir(parents=True, exist_ok=True)
            self.cert, key = write_self_signed_cert(folder)
            tls_args = ["--tls_cert", str(self.cert), "--tls_key", str(key)]
        self._start("hub", "synergos_ttp", [
            "--host", "127.0.0.1", "--port", str(TTP_PORT), "--data_dir",
            str(self.home / "ttp" / "data"), "--outputs_dir", str(self.home / "ttp" / "outputs"),
            "--token", TTP_TOKEN, *tls_args, *ttp_args])
        self.ttp_bridge_port = self.network.bridge("hub", "127.0.0.1", TTP_PORT)
        deadline = time.monotonic() + timeout
        worker_scheme = "https" if self.worker_tls else "http"
        for site, port in bridges.items():
            self._wait_healthy(site, f"{worker_scheme}://127.0.0.1:{port}", deadline,
                               self.worker_ca)
        scheme = "https" if self.tls else "http"
        self._wait_healthy("hub", f"{scheme}://127.0.0.1:{self.ttp_bridge_port}", deadline,
                           self.cert)

    def _issue_worker_certificates(self, sites: dict[str, Path]) -> list[str]:
        """With `worker_tls`: a CA, and a certificate per Worker for its address (and
        127.0.0.1, where its bridge is); the TTP's arguments that trust the CA."""
        if not self.worker_tls:
            return []
        folder = self.home / "worker_tls"
        ca = write_ca(folder / "ca")
        self.worker_ca = ca[0]
        for site in sites:
            write_signed_cert(folder / site, ca, self.network.address(site), also=("127.0.0.1",))
        return ["--worker_ca", str(self.worker_ca)]

    def _worker_tls_args(self, site: str) -> list[str]:
        if not self.worker_tls:
            return []
        folder = self.home / "worker_tls" / site
        return ["--tls_cert", str(folder / "cert.pem"), "--tls_key", str(folder / "key.pem"),
                "--debug"]

    def driver(self, timeout: float = 600.0) -> Driver:
        """A Driver for the TTP (over HTTPS, verifying the TTP's certificate, when TLS)."""
        assert self.ttp_bridge_port is not None, "start() first"
        return Driver(host="127.0.0.1", port=self.ttp_bridge_port, token=TTP_TOKEN,
                      secure=self.tls, verify=str(self.cert) if self.tls else True,
                      timeout=timeout)

    def participant(self, site: str, data_port: int = WORKER_DATA_PORT) -> dict[str, Any]:
        """The fields that register the Worker at `site` with the TTP."""
        return {"host": self.network.address(site), "port": data_port, "f_port": WORKER_PORT,
                "token": worker_token(site), "secure": self.worker_tls}

    def data_port_requests(self, site: str) -> Counter[str]:
        """The data-port requests the Worker at `site` answered, by verb (`fit`, `evaluate`,
        `predict`), from its access lines (logged with `worker_tls`)."""
        verbs: Counter[str] = Counter()
        path = self.home / "logs" / f"{site}.log"
        for line in path.read_text(errors="replace").splitlines():
            if '"synrest.access"' not in line:
                continue
            entry = json.loads(line)
            route = str(entry.get("route", ""))
            if route.startswith("/data/") and entry.get("http_method") == "POST":
                verbs[route.rsplit("/", 1)[-1]] += 1
        return verbs

    def log_tail(self, name: str, chars: int = 3000) -> str:
        """The end of a node's log (`hub` for the TTP)."""
        path = self.home / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def _start(self, where: str, module: str, args: list[str]) -> None:
        self.processes[where] = self.network.popen(
            where, [sys.executable, "-m", module, *args], self.home / "logs" / f"{where}.log",
            env=NODE_ENV)

    def _wait_healthy(self, name: str, url: str, deadline: float, ca: Path | None) -> None:
        verify = str(ca) if url.startswith("https") and ca is not None else True
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{self.log_tail(name)}")
            try:
                if requests.get(url + "/health", timeout=2, verify=verify).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{name} not healthy in time:\n{self.log_tail(name)}")
