"""Fixtures of the deployment tests: a filled env file and each profile's compose model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tools import PROFILES, compose_config, make_env_file


@pytest.fixture(scope="session")
def filled_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`.env.example` with a generated secret in every empty value (via docker/make_env.py)."""
    return make_env_file(tmp_path_factory.mktemp("deploy-env") / ".env")


@pytest.fixture(scope="session")
def compose_models(filled_env: Path) -> dict[str, dict[str, Any]]:
    """Profile name -> normalised `docker-compose config` model of that profile."""
    return {profile: compose_config(filled_env, profile) for profile in PROFILES}
