"""Logging for every Synergos node: JSON lines or GELF, censoring, secrets, sysmetrics.

Usage::

    logger = configure_node_logging(node_id, "ttp", ["basic"], debug=False, censored=False)
    logger.info("round finished", extra={"project_id": "p1", "round": 3, "loss": 0.12})
    SysmetricsReporter(logging.getLogger("synergos.sysmetrics"), resolution=5).start()

Convention: structured fields are passed with `extra={...}`; each key becomes a top-level field
of the JSON line (or a `_key` GELF field). Keys must not clash with `logging.LogRecord`
attributes (`message`, `name`, `args`, `module`, ...). Every event passes through one scrubber:
registered secrets (`register_secret`) and `Bearer`/`token=` values always become `***`; with
`censored=True` IP addresses, host names, `host:port`, URLs, ports, absolute paths, and fields
named like `host`, `port`, `url`, `*_dir`, `*_path` become `*CENSORED*`, in the message, the
traceback and every extra field.
"""

from __future__ import annotations

from synlogger.censoring import CENSORED, SECRET_MASK, Censor, SecretRegistry
from synlogger.json_format import JsonLineFormatter
from synlogger.node_logging import (
    configure_node_logging,
    register_identifier,
    register_secret,
    shutdown_node_logging,
)
from synlogger.sysmetrics import DEFAULT_RESOLUTION, SysmetricsReporter, collect_sysmetrics
from synlogger.variants import LoggingVariant, parse_logging_variant

__all__ = [
    "CENSORED",
    "DEFAULT_RESOLUTION",
    "SECRET_MASK",
    "Censor",
    "JsonLineFormatter",
    "LoggingVariant",
    "SecretRegistry",
    "SysmetricsReporter",
    "collect_sysmetrics",
    "configure_node_logging",
    "parse_logging_variant",
    "register_identifier",
    "register_secret",
    "shutdown_node_logging",
]
