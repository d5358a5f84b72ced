"""Fixtures of the TTP tests: one real TTP process per session, reached through the Driver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from synarchive import Archive
from synergos import Driver
from synergos_ttp.jobs.records import JobRecords
from tests.support.processes import ServiceProcess, start_service

TOKEN = "ttp-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEEDED_KIND = "seeded_dummy"  # a job kind no resumer is ever registered for


def unique(prefix: str) -> str:
    """An id no other test uses (the TTP is shared by the whole session)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def seed_jobs(archive_path: Path) -> dict[str, str]:
    """Store jobs as a previous TTP process would have left them; returns status -> job_id."""
    archive_path.parent.mkdir(parents=True, exist_ok=True)
    with Archive(archive_path) as archive:
        records = JobRecords(archive)
        seeded = {}
        for status in ("queued", "running", "succeeded", "failed"):
            job = records.create(SEEDED_KIND, {"project_id": "seeded"})
            records.update(job["job_id"], {"status": status})
            seeded[status] = job["job_id"]
    return seeded


@pytest.fixture(scope="session")
def ttp_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data and output folders of the session's TTP."""
    return tmp_path_factory.mktemp("ttp")


@pytest.fixture(scope="session")
def seeded_jobs(ttp_home: Path) -> dict[str, str]:
    """Jobs written to the archive before the TTP starts (status at seeding -> job_id)."""
    return seed_jobs(ttp_home / "data" / "database.json")


@pytest.fixture(scope="session")
def ttp(ttp_home: Path, seeded_jobs: dict[str, str]) -> Iterator[ServiceProcess]:
    """A TTP subprocess on a free loopback port, with bearer auth on."""
    service = start_service(
        "synergos_ttp",
        ["--data_dir", str(ttp_home / "data"), "--outputs_dir", str(ttp_home / "outputs"),
         "--token", TOKEN, "--max_model_parameters", "100000"],
        ttp_home, "ttp",
    )
    yield service
    assert service.stop() == 0, service.log_tail()


@pytest.fixture()
def driver(ttp: ServiceProcess) -> Iterator[Driver]:
    """A Driver authenticated against the session's TTP."""
    with Driver(host="127.0.0.1", port=ttp.port, token=TOKEN) as client:
        yield client
