"""The sysmetrics reporter thread: cadence, fields, default resolution, clean stop."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from synlogger import DEFAULT_RESOLUTION, SysmetricsReporter

EXPECTED_FIELDS = {"cpu_percent", "memory_total", "memory_available", "memory_used",
                   "memory_free", "net_bytes_sent", "net_bytes_recv", "net_packets_sent",
                   "net_packets_recv"}


class Collector(logging.Handler):
    """Keeps every record it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[tuple[logging.Logger, Collector]]:
    logger = logging.getLogger("tests.sysmetrics")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    collector = Collector()
    logger.addHandler(collector)
    yield logger, collector
    logger.removeHandler(collector)


def test_reports_at_the_resolution_and_stops_cleanly(
        collected: tuple[logging.Logger, Collector]) -> None:
    logger, collector = collected
    reporter = SysmetricsReporter(logger, resolution=0.2).start()
    deadline = time.monotonic() + 5
    while len(collector.records) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    reporter.stop()
    assert not reporter.running
    assert len(collector.records) >= 2
    record = collector.records[0]
    assert record.getMessage() == "sysmetrics"
    assert set(vars(record)) >= EXPECTED_FIELDS
    assert record.memory_total > 0
    count = len(collector.records)
    time.sleep(0.5)
    assert len(collector.records) == count  # nothing after stop


@pytest.mark.parametrize("resolution", [None, DEFAULT_RESOLUTION])
def test_absent_resolution_uses_the_default(collected: tuple[logging.Logger, Collector],
                                            resolution: float | None) -> None:
    logger, _ = collected
    assert SysmetricsReporter(logger, resolution).resolution == 5.0


@pytest.mark.parametrize("resolution", [0, -1, float("nan"), float("inf")])
def test_bad_resolution_is_refused(collected: tuple[logging.Logger, Collector],
                                   resolution: float) -> None:
    logger, _ = collected
    with pytest.raises(ValueError, match="positive"):
        SysmetricsReporter(logger, resolution)


def test_stop_is_prompt_even_with_a_long_resolution(
        collected: tuple[logging.Logger, Collector]) -> None:
    logger, _ = collected
    reporter = SysmetricsReporter(logger, resolution=60).start()
    assert reporter.running
    started = time.monotonic()
    reporter.stop()
    assert time.monotonic() - started < 1 and not reporter.running
