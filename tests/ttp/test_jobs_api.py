"""`/ttp/jobs` of a real TTP whose archive held unfinished jobs from a previous process."""

from __future__ import annotations

import pytest
import requests

from synergos import Driver
from synergos.errors import ConflictError, NotFoundError, ValidationError
from tests.support.processes import ServiceProcess
from tests.ttp.conftest import AUTH, SEEDED_KIND

pytestmark = pytest.mark.integration


def test_restart_turns_unfinished_jobs_into_interrupted(driver: Driver,
                                                        seeded_jobs: dict[str, str]) -> None:
    for status in ("queued", "running"):
        job = driver.jobs.read(seeded_jobs[status])
        assert job["method"] == "job.get"
        assert job["data"]["status"] == "interrupted"
        assert f"restarted while the job was {status}" in job["data"]["error"]
        assert job["data"]["finished_at"]
    assert driver.jobs.read(seeded_jobs["succeeded"])["data"]["status"] == "succeeded"
    assert driver.jobs.read(seeded_jobs["failed"])["data"]["status"] == "failed"


def test_list_and_filters(driver: Driver, seeded_jobs: dict[str, str]) -> None:
    listed = driver.jobs.read_all()
    assert listed["method"] == "jobs.get"
    assert set(seeded_jobs.values()) <= {job["job_id"] for job in listed["data"]}
    interrupted = driver.jobs.read_all(status="interrupted", kind=SEEDED_KIND)["data"]
    assert {job["job_id"] for job in interrupted} == {seeded_jobs["queued"],
                                                      seeded_jobs["running"]}
    assert driver.jobs.read_all(kind="no_such_kind")["data"] == []
    with pytest.raises(ValidationError) as caught:
        driver.jobs.read_all(status="sleeping")
    assert set(caught.value.errors) == {"status"}


def test_unknown_job_is_404(driver: Driver) -> None:
    for call in (driver.jobs.read, driver.jobs.cancel):
        with pytest.raises(NotFoundError):
            call("0123456789abcdef")
    with pytest.raises(NotFoundError):
        driver.jobs.resume("0123456789abcdef", wait=False)


def test_cancel_and_resume_conflicts(driver: Driver, seeded_jobs: dict[str, str],
                                     ttp: ServiceProcess) -> None:
    for status in ("succeeded", "failed", "running"):  # "running" is interrupted by now
        with pytest.raises(ConflictError):
            driver.jobs.cancel(seeded_jobs[status])
    with pytest.raises(ConflictError) as caught:
        driver.jobs.resume(seeded_jobs["succeeded"], wait=False)
    assert "only interrupted or failed" in caught.value.message
    with pytest.raises(ConflictError) as caught:  # interrupted, but no resumer for its kind
        driver.jobs.resume(seeded_jobs["queued"], wait=False)
    assert "cannot be resumed" in caught.value.message
    answer = requests.post(f"{ttp.base_url}/ttp/jobs/{seeded_jobs['failed']}/resume",
                           headers=AUTH, timeout=10)
    assert answer.status_code == 409 and answer.json()["success"] == 0
    assert driver.jobs.read(seeded_jobs["failed"])["data"]["status"] == "failed"
