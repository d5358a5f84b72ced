"""A node's log stream whose reader is gone: the handler goes quiet instead of failing (and
formatting a traceback onto the same broken stream) for every later record."""

from __future__ import annotations

import io
import logging

import pytest

from synlogger.stream_handler import LossTolerantStreamHandler


class BrokenPipeStream(io.StringIO):
    """A stream whose reader went away: every write fails as a pipe's would."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("node", logging.INFO, __file__, 1, message, None, None)


def test_a_broken_pipe_silences_the_handler_after_one_attempt(
        capsys: pytest.CaptureFixture[str]) -> None:
    stream = BrokenPipeStream()
    handler = LossTolerantStreamHandler(stream)
    for index in range(100):
        handler.emit(record(f"line {index}"))
    handler.flush()
    assert handler.lost
    assert stream.writes == 1
    assert capsys.readouterr().err == ""  # no traceback per record


def test_a_closed_stream_is_lost_too() -> None:
    stream = io.StringIO()
    handler = LossTolerantStreamHandler(stream)
    stream.close()
    handler.emit(record("after close"))
    assert handler.lost


def test_a_working_stream_gets_every_line_and_a_bad_format_is_not_a_lost_stream() -> None:
    stream = io.StringIO()
    handler = LossTolerantStreamHandler(stream)
    handler.emit(record("first"))
    bad = logging.LogRecord("node", logging.INFO, __file__, 1, "%y", (1,), None)
    handler.emit(bad)  # a bug in a log call, reported as logging does
    handler.emit(record("second"))
    assert not handler.lost
    assert stream.getvalue().splitlines() == ["first", "second"]
