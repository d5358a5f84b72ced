"""`JsonLineFormatter`: one JSON object per log event, extras as top-level fields."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from synlogger.records import extra_fields

BASE_FIELDS = ("timestamp", "level", "logger", "node_id", "role", "message", "module",
               "function", "line")


class JsonLineFormatter(logging.Formatter):
    """Formats a record as a single JSON line; `debug` adds process and thread fields."""

    def __init__(self, debug: bool = False) -> None:
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "node_id": getattr(record, "node_id", None),
            "role": getattr(record, "role", None),
            "message": record.getMessage(),
            "module": record.module,
            "function": record.funcName,
            "line": record.lineno,
        }
        if self.debug:
            event["process"] = record.process
            event["thread"] = record.threadName
        for key, value in extra_fields(record).items():
            if key in {"node_id", "role"}:
                continue
            event[f"extra_{key}" if key in event else key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            event["exception"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        return json.dumps(event, default=str)
