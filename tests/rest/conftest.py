"""Fixtures that start the synrest sample service as a real subprocess on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.support.processes import ServiceProcess, free_port, start_service

SAMPLE_MODULE = "tests.rest.sample_service"
SHARED_TOKEN = "shared-test-token-0123456789abcdef"
JSON_LIMIT = 4096
BINARY_LIMIT = 64 * 1024


def start_sample(tmp_path: Path, name: str, args: Sequence[str] = (),
                 env: dict[str, str] | None = None, wait_for_health: bool = True
                 ) -> ServiceProcess:
    """Start the sample service with its data dir under `tmp_path`."""
    data_dir = tmp_path / f"{name}-data"
    return start_service(
        SAMPLE_MODULE,
        ["--data_dir", str(data_dir), "--outputs_dir", str(tmp_path / f"{name}-out"), *args],
        tmp_path, name, env={"SYNERGOS_TOKEN": "", **(env or {})},
        wait_for_health=wait_for_health,
    )


@pytest.fixture(scope="module")
def shared_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One sample service for read-mostly checks: token auth, small JSON limit, debug logs."""
    tmp_path = tmp_path_factory.mktemp("shared")
    data_port = free_port()
    service = start_sample(
        tmp_path, "shared",
        ["--max_content_length", str(JSON_LIMIT), "--binary_limit", str(BINARY_LIMIT),
         "--data_port", str(data_port), "--debug", "--logging_resolution", "30"],
        env={"SYNERGOS_TOKEN": SHARED_TOKEN},
    )
    yield service
    service.stop()


@pytest.fixture(scope="module")
def shared_data_url(shared_service: ServiceProcess) -> str:
    """Base URL of the shared service's binary port (`--data_port`)."""
    port = shared_service.args[shared_service.args.index("--data_port") + 1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers carrying the shared service's token."""
    return {"Authorization": f"Bearer {SHARED_TOKEN}"}
