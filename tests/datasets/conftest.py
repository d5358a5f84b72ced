"""Fixtures of the data-layer tests: an empty data root and outputs folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """An empty Worker data root."""
    root = tmp_path / "data"
    root.mkdir()
    return root


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    """An empty Worker outputs folder."""
    folder = tmp_path / "outputs"
    folder.mkdir()
    return folder
