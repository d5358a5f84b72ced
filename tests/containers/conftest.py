"""Container tests (`make docker-test`): a private dockerd, the images built by
`docker/build_images.sh`, and the grid started from them. Collected only when
SYNERGOS_DOCKER_TEST=1, so `make test` never needs a container engine."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from tests.containers.engine import PrivateEngine, engine_available, private_engine
from tests.deploy.tools import REPOSITORY_ROOT

ENABLED = os.environ.get("SYNERGOS_DOCKER_TEST") == "1"
collect_ignore_glob = [] if ENABLED else ["test_*.py"]
# The engine's state (data root: images and build cache) persists here between runs.
ENGINE_ROOT = Path(os.environ.get("SYNERGOS_DOCKER_ROOT",
                                  REPOSITORY_ROOT / "build" / "docker-test"))
BUILD_TIMEOUT_S = 3600  # a cold build on 2 busy cores takes 30 min or more
# Local base images trust what this host trusts (a TLS-intercepting proxy's CA among them),
# unless SYNERGOS_CA_BUNDLE names another bundle.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def engine() -> Iterator[PrivateEngine]:
    """A private Docker Engine for the whole session. SIGTERM (a CI job cancelled) interrupts
    the session like Ctrl-C, so the engine is still stopped and the host network restored."""
    reason = engine_available()
    if reason:
        pytest.skip(reason)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with private_engine(ENGINE_ROOT) as started:
            yield started
    finally:
        signal.signal(signal.SIGTERM, previous)


def build_images(engine: PrivateEngine, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run `docker/build_images.sh` (what `make images` runs) against `engine` with
    `environment` added; fail with its output unless it succeeds."""
    environment = {**engine.environment(), "DOCKER": "/usr/bin/docker", **environment}
    if HOST_CA_BUNDLE.is_file():
        environment.setdefault("SYNERGOS_CA_BUNDLE", str(HOST_CA_BUNDLE))
    result = subprocess.run(["sh", "docker/build_images.sh"], cwd=REPOSITORY_ROOT,
                            env=environment, capture_output=True, text=True,
                            timeout=BUILD_TIMEOUT_S)
    assert result.returncode == 0, f"building the images failed:\n{result.stdout[-6000:]}" \
                                   f"{result.stderr[-4000:]}"
    print(result.stdout.splitlines()[-5:])
    return result


@pytest.fixture(scope="session")
def images(engine: PrivateEngine) -> PrivateEngine:
    """Every role's image, built by the legacy builder (Debian's docker CLI without
    DOCKER_BUILDKIT)."""
    build_images(engine)
    return engine
