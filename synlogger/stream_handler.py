"""`LossTolerantStreamHandler`: a node's log stream that a vanished reader cannot turn into
work. When the stream fails (its pipe's reader is gone: `BrokenPipeError`, or the descriptor
was closed), the handler stops writing to it for good instead of formatting a traceback onto
the same broken stream for every later record."""

from __future__ import annotations

import logging
import sys
from typing import TextIO


class LossTolerantStreamHandler(logging.StreamHandler):
    """A `StreamHandler` that goes quiet once its stream cannot be written (`lost`)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self.lost = False

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record unless the stream was lost."""
        if not self.lost:
            super().emit(record)

    def flush(self) -> None:
        """Flush unless the stream was lost (flushing a broken pipe raises again)."""
        if self.lost:
            return
        try:
            super().flush()
        except (OSError, ValueError):  # ValueError: the stream was closed
            self.lost = True

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        """A stream that fails with `OSError`, or was closed, is lost; any other error (a bad
        format string) is reported as `logging` does."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError) or getattr(self.stream, "closed", False):
            self.lost = True
            return
        super().handleError(record)
