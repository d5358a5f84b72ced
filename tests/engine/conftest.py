"""Fixtures of the engine tests: the example datasets and a session grid (TTP + 2 Workers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from synergos import Driver
from synergos_datasets.builder import build_examples
from tests.engine.local_grid import LocalGrid

DATASETS = ["breast_cancer", "breast_cancer_iid"]


def unique(prefix: str) -> str:
    """An id no other test of the session uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example datasets for two parties: `party_<n>/<dataset>/<meta>/`, `central/...`."""
    root = tmp_path_factory.mktemp("datasets")
    build_examples(root, parties=2, names=DATASETS)
    return root


@pytest.fixture(scope="session")
def grid(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Iterator[LocalGrid]:
    """A TTP and Workers shared by the session: `p1` (party 1's data) and `p2` (party 2's),
    plus `victim` and `sleeper` (party 2's data) that the failure tests kill or pause."""
    local = LocalGrid(tmp_path_factory.mktemp("grid"))
    try:
        local.start_workers({"p1": datasets / "party_1", "p2": datasets / "party_2",
                             "victim": datasets / "party_2", "sleeper": datasets / "party_2"})
        local.start_ttp()
        yield local
    finally:
        local.stop()


@pytest.fixture()
def driver(grid: LocalGrid) -> Iterator[Driver]:
    """A Driver on the session grid's TTP."""
    with grid.driver() as client:
        yield client


@pytest.fixture()
def own_ttp(grid: LocalGrid, tmp_path: Path) -> Iterator[LocalGrid]:
    """A second TTP in front of the session's Workers, its folders alone under
    `tmp_path / "home"` (a test can read everything it wrote and nothing else)."""
    local = LocalGrid(tmp_path / "home", workers=dict(grid.workers))
    try:
        local.start_ttp()
        yield local
    finally:
        if local.ttp is not None:
            local.ttp.stop()
