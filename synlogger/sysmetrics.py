"""`SysmetricsReporter`: a daemon thread that logs psutil CPU, memory, disk and network counters."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from typing import Any

import psutil

DEFAULT_RESOLUTION = 5.0
SYSMETRICS_EVENT = "sysmetrics"


def collect_sysmetrics() -> dict[str, Any]:
    """Return one snapshot of the machine's counters (fields a platform lacks are left out)."""
    fields: dict[str, Any] = {"cpu_percent": psutil.cpu_percent(interval=None)}
    memory = psutil.virtual_memory()
    fields.update(memory_total=memory.total, memory_available=memory.available,
                  memory_used=memory.used, memory_free=memory.free,
                  memory_percent=memory.percent)
    try:
        disk = psutil.disk_io_counters()
    except (OSError, RuntimeError):
        disk = None
    if disk is not None:
        fields.update(disk_read_counter=disk.read_count, disk_write_counter=disk.write_count,
                      disk_read_bytes=disk.read_bytes, disk_write_bytes=disk.write_bytes)
    try:
        net = psutil.net_io_counters()
    except (OSError, RuntimeError):
        net = None
    if net is not None:
        fields.update(net_bytes_sent=net.bytes_sent, net_bytes_recv=net.bytes_recv,
                      net_packets_sent=net.packets_sent, net_packets_recv=net.packets_recv)
    with contextlib.suppress(psutil.Error):
        fields["process_rss"] = psutil.Process().memory_info().rss
    return fields


class SysmetricsReporter:
    """Logs `collect_sysmetrics()` every `resolution` seconds (default 5) until stopped."""

    def __init__(self, logger: logging.Logger, resolution: float | None = DEFAULT_RESOLUTION
                 ) -> None:
        if resolution is None:
            resolution = DEFAULT_RESOLUTION
        resolution = float(resolution)
        if not math.isfinite(resolution) or resolution <= 0:
            raise ValueError(f"sysmetrics resolution must be a positive number, got {resolution}")
        self.logger = logger
        self.resolution = resolution
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the reporting thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SysmetricsReporter:
        """Start the daemon thread (no-op if it is already running); returns self."""
        if self.running:
            return self
        self._stop.clear()
        psutil.cpu_percent(interval=None)  # prime: the first reading is measured from here
        self._thread = threading.Thread(target=self._run, name="synergos-sysmetrics",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Signal the thread to stop and wait up to `timeout` seconds for it to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> SysmetricsReporter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.resolution):
            try:
                fields = collect_sysmetrics()
            except Exception:  # never let a psutil hiccup end the reporter
                self.logger.warning("sysmetrics collection failed", exc_info=True)
                continue
            self.logger.info(SYSMETRICS_EVENT, extra={"event": SYSMETRICS_EVENT, **fields})
