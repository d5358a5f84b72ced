"""Logging filters that prepare every record before any handler sees it.

`NodeContextFilter` stamps `node_id`/`role`; `ScrubbingFilter` runs the `Censor` over the
message, the exception text, the stack and every extra field, in place and only once.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from synlogger.censoring import Censor

# Attributes every LogRecord has; anything else on a record is a structured extra field.
STANDARD_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("probe", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName"}

_SCRUBBED_FLAG = "_synergos_scrubbed"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the structured fields a caller attached with `extra={...}`."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in STANDARD_RECORD_ATTRIBUTES and not key.startswith("_")
    }


class NodeContextFilter(logging.Filter):
    """Adds the node's `node_id` and `role` to every record that does not carry them."""

    def __init__(self, node_id: str, role: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.role = role

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "node_id"):
            record.node_id = self.node_id
        if not hasattr(record, "role"):
            record.role = self.role
        return True


class ScrubbingFilter(logging.Filter):
    """Rewrites a record so no handler can emit a secret (or, censored, an identifier)."""

    def __init__(self, censor: Censor) -> None:
        super().__init__()
        self.censor = censor

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SCRUBBED_FLAG, False):
            return True
        censor = self.censor
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the event
            message = f"{record.msg!r} (unformattable arguments)"
        record.msg = censor.text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = censor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = censor.text(record.stack_info)
        if censor.censored:
            record.pathname = record.filename
        for key, value in extra_fields(record).items():
            if key in {"node_id", "role"}:
                continue
            setattr(record, key, censor.field(key, value))
        setattr(record, _SCRUBBED_FLAG, True)
        return True
