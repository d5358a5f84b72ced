"""A private, loopback-only RabbitMQ broker for tests and benchmarks (one per session).

Random free ports for AMQP, Erlang distribution, a private epmd and (optionally) the
management UI; its own HOME (Erlang cookie), mnesia and log folders; stopped by PID and
`epmd -kill`, never by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pika
import pika.exceptions

from synergos_testing.local_processes import LOOPBACK, free_port

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
EPMD = "epmd"


class RabbitBroker:
    """A RabbitMQ node bound to 127.0.0.1 with all state under `tmp_dir`."""

    def __init__(self, tmp_dir: Path | str, start_timeout: float = 90.0,
                 management: bool = False) -> None:
        self.tmp_dir = Path(tmp_dir)
        # the management plugin's UI and HTTP API on 127.0.0.1 (login guest/guest, loopback)
        self.management_port = free_port() if management else None
        self.start_timeout = start_timeout
        self.host = LOOPBACK
        self.amqp_port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node_name = f"synergos_test_{self.amqp_port}@localhost"
        self.process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        """Where the server's console output goes."""
        return self.tmp_dir / "server.out"

    def environment(self) -> dict[str, str]:
        """The environment shared by the server and any `rabbitmqctl` call against it."""
        tmp = self.tmp_dir
        return {
            **os.environ,
            "HOME": str(tmp / "home"),
            "RABBITMQ_NODENAME": self.node_name,
            "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "RABBITMQ_CONF_ENV_FILE": str(tmp / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(tmp / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(tmp / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(tmp / "mnesia"),
            "RABBITMQ_LOG_BASE": str(tmp / "log"),
            "RABBITMQ_PID_FILE": str(tmp / "rabbitmq.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def _write_config(self) -> None:
        tmp = self.tmp_dir
        for folder in ("home", "mnesia", "log"):
            (tmp / folder).mkdir(parents=True, exist_ok=True)
        (tmp / "rabbitmq-env.conf").write_text("")
        plugins = "rabbitmq_management" if self.management_port else ""
        (tmp / "enabled_plugins").write_text(f"[{plugins}].\n")
        config = (f"listeners.tcp.default = {LOOPBACK}:{self.amqp_port}\n"
                  "loopback_users.guest = true\n")
        if self.management_port:
            config += (f"management.tcp.ip = {LOOPBACK}\n"
                       f"management.tcp.port = {self.management_port}\n")
        (tmp / "rabbitmq.conf").write_text(config)

    def start(self) -> RabbitBroker:
        """Launch the node and block until an AMQP connection succeeds."""
        if not RABBITMQ_SERVER.exists():
            raise RuntimeError(
                f"{RABBITMQ_SERVER} is missing: apt-get install -y rabbitmq-server")
        if self.process is not None and self.process.poll() is None:
            return self
        self._write_config()
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [str(RABBITMQ_SERVER)], stdout=log_file, stderr=subprocess.STDOUT,
                env=self.environment(), cwd=self.tmp_dir, start_new_session=True,
            )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        params = self.connection_parameters(connection_attempts=1, socket_timeout=1)
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited early:\n{self.log_tail()}")
            try:
                pika.BlockingConnection(params).close()
                return
            except pika.exceptions.AMQPError:
                time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"RabbitMQ not ready after {self.start_timeout}s:\n{self.log_tail()}")

    def connection_parameters(self, **overrides: object) -> pika.ConnectionParameters:
        """pika parameters for this broker (guest/guest on loopback)."""
        settings: dict[str, object] = {
            "host": self.host, "port": self.amqp_port,
            "credentials": pika.PlainCredentials("guest", "guest"),
        }
        settings.update(overrides)
        return pika.ConnectionParameters(**settings)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the node, wait for it, then stop its private epmd."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        subprocess.run(
            [EPMD, "-port", str(self.epmd_port), "-kill"], env=self.environment(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10, check=False,
        )

    def restart(self) -> RabbitBroker:
        """Stop and start the same node (same ports, same mnesia: durable state survives)."""
        self.stop()
        return self.start()

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's console output (for error messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""


@contextlib.contextmanager
def running_broker(tmp_dir: Path | str, management: bool = False) -> Iterator[RabbitBroker]:
    """Start a private broker for the duration of the `with` block (a session fixture's body)."""
    broker = RabbitBroker(tmp_dir, management=management).start()
    try:
        yield broker
    finally:
        broker.stop()
