"""Configure the root logger of a node once: handlers, level, node context and scrubbing."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import sys
import threading
from collections.abc import Iterable, Sequence
from typing import TextIO

from synlogger.censoring import Censor, SecretRegistry
from synlogger.json_format import JsonLineFormatter
from synlogger.records import NodeContextFilter, ScrubbingFilter
from synlogger.stream_handler import LossTolerantStreamHandler
from synlogger.variants import build_graylog_handler, parse_logging_variant

SECRETS = SecretRegistry()

_lock = threading.Lock()
_installed_handlers: list[logging.Handler] = []
_listeners: list[logging.handlers.QueueListener] = []
_active_censor: Censor | None = None
_identifiers: set[str] = set()
_atexit_registered = False


def register_secret(value: str) -> None:
    """Mask `value` as `***` in every log event from now on (censored or not)."""
    SECRETS.add(value)


def register_identifier(value: str) -> None:
    """Remove `value` (e.g. a peer's host name) from log events when logging is censored."""
    _identifiers.add(value)
    censor = _active_censor
    if censor is not None:
        censor.add_identifier(value)


def configure_node_logging(node_id: str, role: str, variant: Sequence[str] | str | None = None,
                           debug: bool = False, censored: bool = False,
                           secrets: Iterable[str] = (), stream: TextIO | None = None
                           ) -> logging.Logger:
    """Install this node's handlers on the root logger (replacing earlier ones) and return
    the `synergos.<role>` logger. `variant` is `['basic']` or `['graylog', HOST, PORT]`."""
    if not node_id or not role:
        raise ValueError("node_id and role must be non-empty")
    parsed = parse_logging_variant(variant)
    for secret in secrets:
        register_secret(secret)
    censor = Censor(SECRETS, censored=censored, identifiers=sorted(_identifiers))
    handlers: list[logging.Handler] = []
    listeners: list[logging.handlers.QueueListener] = []
    if parsed.kind == "graylog":
        handler, listener = build_graylog_handler(
            parsed, source=node_id if censored else None, debug=debug)
        handlers.append(handler)
        listeners.append(listener)
    else:
        handler = LossTolerantStreamHandler(stream if stream is not None else sys.stderr)
        handler.setFormatter(JsonLineFormatter(debug=debug))
        handlers.append(handler)
    context, scrubber = NodeContextFilter(node_id, role), ScrubbingFilter(censor)
    for handler in handlers:
        handler.addFilter(context)
        handler.addFilter(scrubber)
    _replace_root_handlers(handlers, listeners, censor, logging.DEBUG if debug else logging.INFO)
    logger = logging.getLogger(f"synergos.{role}")
    logger.debug("logging configured", extra={
        "variant": parsed.kind, "transport": parsed.transport if parsed.kind == "graylog" else None,
        "censored": censored, "debug": debug})
    return logger


def shutdown_node_logging() -> None:
    """Flush and remove the handlers installed by `configure_node_logging`."""
    _replace_root_handlers([], [], None, None)


def _replace_root_handlers(handlers: list[logging.Handler],
                           listeners: list[logging.handlers.QueueListener],
                           censor: Censor | None, level: int | None) -> None:
    global _active_censor, _atexit_registered
    root = logging.getLogger()
    with _lock:
        for old in _installed_handlers:
            root.removeHandler(old)
            old.close()
        for old_listener in _listeners:
            old_listener.stop()
            for target in old_listener.handlers:
                target.close()
        _installed_handlers[:] = handlers
        _listeners[:] = listeners
        _active_censor = censor
        for listener in listeners:
            listener.start()
        for handler in handlers:
            root.addHandler(handler)
        if level is not None:
            root.setLevel(level)
        if not _atexit_registered:
            atexit.register(shutdown_node_logging)
            _atexit_registered = True
