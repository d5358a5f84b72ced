"""`GET /ttp/jobs/<id>?wait=S` answers as soon as the job ends (a long-poll), so a waiting
Driver sees the end at once instead of up to one polling interval later."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from synarchive import Archive
from synergos_ttp.app import create_ttp_app
from synergos_ttp.config import TTPConfig, build_ttp_parser
from synergos_ttp.jobs import JobRunner


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[tuple[FlaskClient, JobRunner]]:
    """A TTP app (no auth) over a real archive and job runner."""
    config = TTPConfig.from_args(build_ttp_parser().parse_args([
        "--insecure", "--data_dir", str(tmp_path / "data"),
        "--outputs_dir", str(tmp_path / "out")]))
    archive = Archive(tmp_path / "archive.json")
    runner = JobRunner(archive, max_workers=1)
    try:
        yield create_ttp_app(config, archive, runner).test_client(), runner
    finally:
        runner.shutdown()
        archive.close()


def test_a_long_poll_answers_when_the_job_ends(jobs: tuple[FlaskClient, JobRunner]) -> None:
    client, runner = jobs
    release = threading.Event()
    job = runner.submit("sleepy", {}, lambda context: release.wait(30) and {"done": True})
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    answer = client.get(f"/ttp/jobs/{job['job_id']}?wait=8")
    waited = time.monotonic() - started
    assert answer.status_code == 200
    assert answer.json["data"]["status"] == "succeeded"
    assert answer.json["data"]["result"] == {"done": True}
    assert 0.25 <= waited < 5  # held until the end, not for the whole 8 s


def test_a_long_poll_on_a_running_job_answers_after_the_wait(
        jobs: tuple[FlaskClient, JobRunner]) -> None:
    client, runner = jobs
    release = threading.Event()
    job = runner.submit("sleepy", {}, lambda context: release.wait(30) and {})
    try:
        started = time.monotonic()
        answer = client.get(f"/ttp/jobs/{job['job_id']}?wait=0.4")
        assert 0.35 <= time.monotonic() - started < 5
        assert answer.json["data"]["status"] in ("queued", "running")
        started = time.monotonic()
        assert client.get(f"/ttp/jobs/{job['job_id']}").json["data"]["status"] != "succeeded"
        assert time.monotonic() - started < 0.3  # without `wait` the answer comes at once
    finally:
        release.set()


@pytest.mark.parametrize("wait", ["soon", "-1", "11", "nan", "inf"])
def test_a_bad_wait_is_422(jobs: tuple[FlaskClient, JobRunner], wait: str) -> None:
    client, runner = jobs
    job = runner.submit("quick", {}, lambda context: {})
    answer = client.get(f"/ttp/jobs/{job['job_id']}?wait={wait}")
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"wait"}


def test_a_long_poll_on_an_unknown_job_is_404(jobs: tuple[FlaskClient, JobRunner]) -> None:
    client, _ = jobs
    assert client.get("/ttp/jobs/0123456789abcdef?wait=2").status_code == 404
