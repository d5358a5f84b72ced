"""Leave the root logger and the secret registry as they were after every logger test."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from synlogger import shutdown_node_logging
from synlogger.node_logging import SECRETS


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    shutdown_node_logging()
    SECRETS.clear()
    root.setLevel(level)


class JsonLines(io.StringIO):
    """A text stream that parses what a `basic` handler wrote into events."""

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.getvalue().splitlines() if line.strip()]


@pytest.fixture
def stream() -> JsonLines:
    return JsonLines()
