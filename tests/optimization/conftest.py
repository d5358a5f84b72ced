"""Fixtures of the optimisation tests: the engine tests' example datasets and a grid of one
TTP and two Workers (`p1`, `p2`) as real processes on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from synergos import Driver
from tests.engine.conftest import datasets  # noqa: F401  (the session fixture, reused)
from tests.engine.local_grid import LocalGrid


@pytest.fixture(scope="session")
def optim_grid(tmp_path_factory: pytest.TempPathFactory,
               datasets: Path) -> Iterator[LocalGrid]:  # noqa: F811
    """A TTP with Workers `p1` (party 1's data) and `p2` (party 2's)."""
    local = LocalGrid(tmp_path_factory.mktemp("optim_grid"))
    try:
        local.start_workers({"p1": datasets / "party_1", "p2": datasets / "party_2"})
        local.start_ttp()
        yield local
    finally:
        local.stop()


@pytest.fixture()
def optim_driver(optim_grid: LocalGrid) -> Iterator[Driver]:
    """A Driver on the optimisation grid's TTP."""
    with optim_grid.driver() as client:
        yield client
