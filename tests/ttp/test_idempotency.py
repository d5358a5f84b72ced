"""`Idempotency-Key` on the TTP's job starts, against a real TTP process: the same key
starts one job, another body or a malformed key is refused, and the Driver's retry after a
lost answer (a real proxy process that drops it) does not start a second job."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import requests

from synergos import Driver
from tests.engine.local_grid import wait_for
from tests.support.processes import LOOPBACK, ServiceProcess, free_port
from tests.ttp.conftest import AUTH, TOKEN, unique

pytestmark = pytest.mark.integration


def project_to_align(driver: Driver) -> str:
    """A project with one registered participant (whose Worker is never reached before the
    alignment job runs), so that an alignment POST starts a job."""
    project_id, participant_id = unique("idem"), unique("party")
    driver.projects.create(project_id=project_id, action="classify", incentives={})
    driver.participants.create(participant_id=participant_id, host=LOOPBACK,
                               port=free_port(), f_port=free_port(), token="w" * 24)
    driver.registrations.create(project_id=project_id, participant_id=participant_id,
                                role="host")
    driver.tags.create(project_id=project_id, participant_id=participant_id,
                       train=[["breast_cancer", "train"]])
    return project_id


def alignment_jobs(driver: Driver, project_id: str) -> list[dict]:
    """The alignment jobs of `project_id`."""
    return [job for job in driver.jobs.read_all(kind="alignment")["data"]
            if job["params"].get("project_id") == project_id]


def align_url(ttp: ServiceProcess, project_id: str) -> str:
    return f"{ttp.base_url}/ttp/train/projects/{project_id}/alignments"


def test_the_same_key_twice_starts_one_job(ttp: ServiceProcess, driver: Driver) -> None:
    project_id = project_to_align(driver)
    headers = {**AUTH, "Idempotency-Key": uuid.uuid4().hex}
    first = requests.post(align_url(ttp, project_id), json={}, headers=headers, timeout=30)
    again = requests.post(align_url(ttp, project_id), json={}, headers=headers, timeout=30)
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert again.json()["data"]["job_id"] == first.json()["data"]["job_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(alignment_jobs(driver, project_id)) == 1
    other_body = requests.post(align_url(ttp, project_id), json={"auto_fix": False},
                               headers=headers, timeout=30)
    assert other_body.status_code == 422 and "Idempotency-Key" in other_body.json()["message"]


def test_a_key_is_scoped_by_route_and_token(ttp: ServiceProcess, driver: Driver) -> None:
    first_project, second_project = project_to_align(driver), project_to_align(driver)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    for project_id in (first_project, second_project):
        answer = requests.post(align_url(ttp, project_id), json={}, headers={**AUTH, **key},
                               timeout=30)
        assert answer.status_code == 202 and "Idempotent-Replayed" not in answer.headers
    wrong_token = requests.post(align_url(ttp, first_project), json={},
                                headers={"Authorization": "Bearer wrong-token-0123456789",
                                         **key}, timeout=30)
    assert wrong_token.status_code == 401


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
def test_a_malformed_key_is_refused_naming_the_header(ttp: ServiceProcess, driver: Driver,
                                                       key: str) -> None:
    project_id = project_to_align(driver)
    answer = requests.post(align_url(ttp, project_id), json={},
                           headers={**AUTH, "Idempotency-Key": key.encode("utf-8")}, timeout=30)
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["message"]
    assert alignment_jobs(driver, project_id) == []


def test_the_drivers_retry_after_a_lost_answer_starts_one_job(
        ttp: ServiceProcess, driver: Driver, tmp_path: Path) -> None:
    project_id = project_to_align(driver)
    port = free_port()
    repository = str(Path(__file__).resolve().parents[2])
    proxy = ServiceProcess(
        module="tests.support.drop_proxy", port=port, log_path=tmp_path / "proxy.log",
        args=[str(port), str(ttp.port), str(tmp_path)],
        env={"PYTHONPATH": os.pathsep.join(filter(None, [repository,
                                                          os.environ.get("PYTHONPATH")]))})
    proxy.start(wait_for_health=False)
    try:
        wait_for(lambda: (tmp_path / "listening").exists(), timeout=30)
        with Driver(host=LOOPBACK, port=port, token=TOKEN) as through_proxy:
            job = through_proxy.alignments.create(project_id=project_id, progress=False,
                                                  wait=False)["data"]
        assert (tmp_path / "dropped").exists(), "the proxy never dropped an answer"
        jobs = alignment_jobs(driver, project_id)
        assert [found["job_id"] for found in jobs] == [job["job_id"]]
    finally:
        proxy.stop()
