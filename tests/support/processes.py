"""Start real service processes on free loopback ports for integration tests; each gets
SIGTERM when the thread that started it ends (`die_with_parent`), so a test run killed
outright leaves no service behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from synergos_testing.local_processes import LOOPBACK, die_with_parent, free_port

__all__ = ["LOOPBACK", "ServiceProcess", "free_port", "start_service"]


@dataclass
class ServiceProcess:
    """A service started as `python -m <module>`; its output goes to `log_path`."""

    module: str
    args: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    # the CA bundle verifying the service's certificate when it serves HTTPS
    tls_ca: Path | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls_ca else 'http'}://{LOOPBACK}:{self.port}"

    def start(self, wait_for_health: bool = True, timeout: float = 60.0) -> ServiceProcess:
        """Launch the process and (by default) wait until `GET /health` answers 200."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
               **self.env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        log_file.close()
        if wait_for_health:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Poll `/health` until it answers 200; fail with the log tail otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.module} exited early:\n{self.log_tail()}")
            try:
                verify = str(self.tls_ca) if self.tls_ca else True
                if requests.get(self.base_url + "/health", timeout=1,
                                verify=verify).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.module} not healthy after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """SIGKILL the process (crash simulation)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait, then SIGKILL if it did not exit; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode


def start_service(module: str, args: Sequence[str], tmp_path: Path, name: str,
                  port: int | None = None, env: dict[str, str] | None = None,
                  wait_for_health: bool = True) -> ServiceProcess:
    """Start `python -m module --host 127.0.0.1 --port P *args` and wait for health."""
    port = port or free_port()
    service = ServiceProcess(
        module=module, args=["--host", LOOPBACK, "--port", str(port), *args], port=port,
        log_path=tmp_path / f"{name}.log", env=env or {},
    )
    return service.start(wait_for_health=wait_for_health)
