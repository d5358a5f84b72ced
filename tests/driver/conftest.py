"""Fixtures for the Driver tests: a recording fake TTP and a Driver pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from synergos import Driver
from tests.driver.fake_ttp import FakeTTP

TEST_TOKEN = "driver-test-token-6f1c"


@pytest.fixture()
def fake_ttp() -> Iterator[FakeTTP]:
    """A fresh recording server on 127.0.0.1."""
    with FakeTTP() as server:
        yield server


@pytest.fixture()
def driver(fake_ttp: FakeTTP, monkeypatch: pytest.MonkeyPatch) -> Iterator[Driver]:
    """A Driver with an explicit token, talking to `fake_ttp`."""
    monkeypatch.delenv("SYNERGOS_TOKEN", raising=False)
    with Driver(host="127.0.0.1", port=fake_ttp.port, token=TEST_TOKEN, timeout=10) as client:
        yield client
