"""The `--logging_variant` values: `basic`, or `graylog HOST PORT [tcp|udp]`, and their handlers.

Graylog handlers sit behind a queue so that a slow or unreachable Graylog never blocks the
thread that logs; GELF over TCP is the default because Synergos 1 Graylog inputs
are TCP inputs, `udp` selects `graypy.GELFUDPHandler` (zlib-compressed datagrams).
"""

from __future__ import annotations

import copy
import logging
import logging.handlers
import queue
from collections.abc import Sequence
from dataclasses import dataclass

import graypy

GRAYLOG_TRANSPORTS = ("tcp", "udp")
DEFAULT_GRAYLOG_TRANSPORT = "tcp"
VARIANT_USAGE = "expected 'basic' or 'graylog HOST PORT [tcp|udp]'"


@dataclass(frozen=True)
class LoggingVariant:
    """A parsed logging variant: `kind` is `basic` or `graylog` (with host, port, transport)."""

    kind: str
    host: str | None = None
    port: int | None = None
    transport: str = DEFAULT_GRAYLOG_TRANSPORT


def parse_logging_variant(tokens: Sequence[str] | str | None) -> LoggingVariant:
    """Validate the tokens of `--logging_variant`; raise ValueError with a clear message."""
    if tokens is None:
        return LoggingVariant("basic")
    if isinstance(tokens, str):
        tokens = [tokens]
    items = [str(token).strip() for token in tokens]
    if not items or not items[0]:
        raise ValueError(f"empty logging variant: {VARIANT_USAGE}")
    kind = items[0].lower()
    if kind == "basic":
        if len(items) != 1:
            raise ValueError(f"'basic' takes no arguments, got {items[1:]}: {VARIANT_USAGE}")
        return LoggingVariant("basic")
    if kind != "graylog":
        raise ValueError(f"unknown logging variant {items[0]!r}: {VARIANT_USAGE}")
    if len(items) not in (3, 4):
        raise ValueError(f"'graylog' needs HOST and PORT: {VARIANT_USAGE}")
    host, port_text = items[1], items[2]
    if not host:
        raise ValueError(f"graylog host is empty: {VARIANT_USAGE}")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"graylog port {port_text!r} is not an integer") from None
    if not 0 < port < 65536:
        raise ValueError(f"graylog port {port} is outside 1-65535")
    transport = items[3].lower() if len(items) == 4 else DEFAULT_GRAYLOG_TRANSPORT
    if transport not in GRAYLOG_TRANSPORTS:
        raise ValueError(f"graylog transport {items[3]!r} is not one of {GRAYLOG_TRANSPORTS}")
    return LoggingVariant("graylog", host, port, transport)


class _PreparedQueueHandler(logging.handlers.QueueHandler):
    """A QueueHandler that keeps structured extras and the formatted exception text."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        prepared = copy.copy(record)
        prepared.msg = record.getMessage()
        prepared.args = None
        if record.exc_info and not record.exc_text:
            prepared.exc_text = logging.Formatter().formatException(record.exc_info)
        prepared.exc_info = None
        return prepared


def build_graylog_handler(variant: LoggingVariant, source: str | None, debug: bool
                          ) -> tuple[logging.Handler, logging.handlers.QueueListener]:
    """Return a non-blocking handler feeding a GELF handler, and the listener to start/stop."""
    if variant.kind != "graylog" or variant.host is None or variant.port is None:
        raise ValueError("build_graylog_handler needs a graylog variant")
    options = {"debugging_fields": debug, "extra_fields": True, "localname": source}
    if variant.transport == "udp":
        gelf: logging.Handler = graypy.GELFUDPHandler(variant.host, variant.port, **options)
    else:
        gelf = graypy.GELFTCPHandler(variant.host, variant.port, **options)
    events: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(events, gelf, respect_handler_level=False)
    return _PreparedQueueHandler(events), listener
