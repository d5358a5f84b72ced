"""Run a node's ports on uvicorn: WSGI apps as `RestPortServer`s, binary ports as
`BinaryPortServer`s; optional TLS and graceful shutdown.

`serve` runs one app from a `NodeConfig`; `serve_many` runs several (the Worker's command and
data ports) in one process. `on_started` runs once every port serves (start-up work that
`/health` need not wait for: warm-ups). SIGTERM/SIGINT stop accepting, let in-flight requests
finish (up to `shutdown_timeout`), run `on_shutdown`, and return normally so the process
exits 0; the signal also arms `synrest.shutdown.EXIT_GUARD`, which ends the process at its
deadline (or at a second signal) whatever is still running.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from synrest.binary_app import BinaryPortApp
from synrest.binary_server import BinaryPortServer, server_tls_context
from synrest.node_config import NodeConfig
from synrest.port_guard import DATA_LIMITS, REST_LIMITS, PortLimits
from synrest.rest_server import RestPortServer
from synrest.shutdown import EXIT_GUARD

WSGIApp = Callable[..., Any]
Binding = tuple[WSGIApp | BinaryPortApp, str, int]
DEFAULT_THREADS = 16
DEFAULT_SHUTDOWN_TIMEOUT = 30.0

logger = logging.getLogger("synrest.server")


class NodeServer:
    """A group of servers, one per `(app, host, port)` binding (a `RestPortServer` for a WSGI
    app, a `BinaryPortServer` for a `BinaryPortApp`), started and stopped together."""

    def __init__(self, bindings: Sequence[Binding], tls_cert: str | Path | None = None,
                 tls_key: str | Path | None = None, numthreads: int = DEFAULT_THREADS,
                 shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
                 rest_limits: PortLimits = REST_LIMITS,
                 data_limits: PortLimits = DATA_LIMITS) -> None:
        if not bindings:
            raise ValueError("at least one (app, host, port) binding is required")
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
        self.tls = tls_cert is not None
        self._servers: list[RestPortServer | BinaryPortServer] = []
        # One TLS policy (TLS 1.2 or newer) for every port of the node, whatever serves it.
        context = (server_tls_context(tls_cert, tls_key)
                   if tls_cert is not None and tls_key is not None else None)
        for app, host, port in bindings:
            if isinstance(app, BinaryPortApp):
                self._servers.append(BinaryPortServer(app, host, int(port), context,
                                                      data_limits, shutdown_timeout))
                continue
            server = RestPortServer(app, host, int(port), context, numthreads,
                                    shutdown_timeout, rest_limits)
            self._servers.append(server)
        self._threads: list[threading.Thread] = []
        self.failed = threading.Event()
        self.failure: BaseException | None = None

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The `(host, port)` each server is bound to (real ports once started)."""
        return [(str(server.bind_addr[0]), int(server.bind_addr[1])) for server in self._servers]

    def start(self) -> None:
        """Bind every port (raising if one is taken), then serve each on its own thread."""
        try:
            for server in self._servers:
                server.prepare()
        except OSError as exc:
            self.stop()
            raise RuntimeError(f"cannot bind: {exc}") from exc
        for server in self._servers:
            thread = threading.Thread(target=self._serve, args=(server,), daemon=True,
                                      name=f"port-{server.bind_addr[1]}")
            thread.start()
            self._threads.append(thread)
        scheme = "https" if self.tls else "http"
        for host, port in self.addresses:
            logger.info("serving on %s://%s:%s", scheme, host, port,
                        extra={"host": host, "port": port, "tls": self.tls})

    def stop(self) -> None:
        """Stop accepting, wait for in-flight requests (bounded), and join the threads."""
        for wait in (False, True):  # every port stops accepting at once, then drains
            for server in self._servers:
                try:
                    server.stop(wait)
                except Exception:
                    logger.exception("error while stopping a server")
        for thread in self._threads:
            thread.join(timeout=5)

    def _serve(self, server: RestPortServer | BinaryPortServer) -> None:
        try:
            server.serve()
        except BaseException as exc:  # surfaced through `failed`/`failure`
            self.failure = exc
            self.failed.set()


def serve_many(bindings: Sequence[Binding], *, tls_cert: str | Path | None = None,
               tls_key: str | Path | None = None, on_shutdown: Callable[[], None] | None = None,
               numthreads: int = DEFAULT_THREADS,
               shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
               stop_event: threading.Event | None = None,
               on_started: Callable[[], object] | None = None,
               config: NodeConfig | None = None) -> None:
    """Serve every binding until SIGTERM/SIGINT (or `stop_event`), then shut down gracefully;
    the ports' limits are `config`'s (the flags), else the defaults.

    Signal handlers are installed only when called from the main thread.
    """
    stop = stop_event or threading.Event()
    limits = (config.rest_limits, config.data_limits) if config else (REST_LIMITS, DATA_LIMITS)
    group = NodeServer(bindings, tls_cert, tls_key, numthreads, shutdown_timeout, *limits)
    received: list[int] = []
    previous = _install_signal_handlers(stop, received)
    try:
        group.start()
        if on_started is not None:
            _run_started_hook(on_started)
        while not stop.wait(0.5):
            if group.failed.is_set():
                break
        if received:  # logged here: a handler that logs could wait on a blocked log stream
            logger.info("received %s: the process ends within %g s",
                        signal.Signals(received[0]).name, EXIT_GUARD.deadline)
        logger.info("shutting down: finishing in-flight requests")
        group.stop()
        if on_shutdown is not None:
            on_shutdown()
    finally:
        _restore_signal_handlers(previous)
    if group.failure is not None:
        raise RuntimeError(f"server stopped unexpectedly: {group.failure}") from group.failure
    logger.info("shut down cleanly")


def serve(app: WSGIApp, config: NodeConfig, on_shutdown: Callable[[], None] | None = None,
          numthreads: int = DEFAULT_THREADS,
          shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
          stop_event: threading.Event | None = None,
          on_started: Callable[[], object] | None = None) -> None:
    """Serve `app` on `config.host:config.port` (HTTPS with `--tls_cert/--tls_key`) until
    SIGTERM/SIGINT or `stop_event`."""
    serve_many([(app, config.host, config.port)], tls_cert=config.tls_cert,
               tls_key=config.tls_key, on_shutdown=on_shutdown, numthreads=numthreads,
               shutdown_timeout=shutdown_timeout, stop_event=stop_event, on_started=on_started,
               config=config)


def _run_started_hook(hook: Callable[[], object]) -> None:
    """Run `on_started`; it must not stop a node that already serves, so a failure is logged."""
    try:
        hook()
    except Exception:
        logger.exception("start-up work after serving failed")


def _install_signal_handlers(stop: threading.Event, received: list[int]) -> dict[int, Any]:
    """Make SIGTERM/SIGINT set `stop` and arm the exit guard (a second one exits at once);
    the handler only records the signal in `received`, it does not log."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    EXIT_GUARD.start()

    def _request_stop(signum: int, _frame: Any) -> None:
        received.append(signum)
        EXIT_GUARD.arm()
        stop.set()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, _request_stop)
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
