"""Job-starting creates wait for their job, show progress, and raise on failure or timeout."""

from __future__ import annotations

import time

import pytest

from synergos import Driver, JobFailedError, JobTimeoutError, UnreachableError
from synergos.jobs import JobWaiter
from tests.driver.fake_ttp import CannedResponse, FakeTTP, envelope, job_record

MODELS = "/ttp/train/projects/p1/models/e1/r1"
JOB = "/ttp/jobs/job-1"


def job_answer(status: str, current: int = 0, total: int = 2, error: str | None = None
               ) -> CannedResponse:
    return CannedResponse(200, envelope(job_record("job-1", status, current, total,
                                                   error=error)))


def test_waits_through_running_and_returns_the_result_envelope(
    driver: Driver, fake_ttp: FakeTTP
) -> None:
    fake_ttp.script("GET", JOB, job_answer("queued"), job_answer("running", 1),
                    job_answer("succeeded", 2))
    result = envelope([{"key": {"run_id": "r1"}, "global": {"loss_history": [0.5, 0.4]}}])
    fake_ttp.script("GET", MODELS, CannedResponse(200, result))
    returned = driver.models.create("p1", "e1", "r1", progress=False)
    assert returned == result
    assert fake_ttp.calls() == [("POST", MODELS, {}), ("GET", JOB, None), ("GET", JOB, None),
                                ("GET", JOB, None), ("GET", MODELS, None)]


@pytest.mark.parametrize("final_status", ["failed", "cancelled", "interrupted"])
def test_unsuccessful_job_raises_job_failed(
    driver: Driver, fake_ttp: FakeTTP, final_status: str
) -> None:
    fake_ttp.script("GET", JOB, job_answer("running", 1),
                    job_answer(final_status, 1, error="worker w2 timed out in round 2"))
    with pytest.raises(JobFailedError) as caught:
        driver.models.create("p1", "e1", "r1", progress=False)
    assert caught.value.job_status == final_status
    assert caught.value.job["job_id"] == "job-1"
    assert "worker w2 timed out in round 2" in str(caught.value)
    assert ("GET", MODELS, None) not in fake_ttp.calls()


def test_wait_false_returns_the_job_at_once(driver: Driver, fake_ttp: FakeTTP) -> None:
    answer = driver.validations.create("p1", "e1", "r1", wait=False)
    assert answer["status"] == 202
    assert answer["data"]["job_id"] == "job-1"
    assert answer["data"]["status"] == "queued"
    assert len(fake_ttp.requests) == 1


def test_timeout_raises_job_timeout_and_leaves_the_job(
    driver: Driver, fake_ttp: FakeTTP
) -> None:
    fake_ttp.script("GET", JOB, *[job_answer("running", 1) for _ in range(50)])
    started = time.monotonic()
    with pytest.raises(JobTimeoutError) as caught:
        driver.alignments.create("p1", timeout=0.4, progress=False)
    assert time.monotonic() - started < 2.0
    assert caught.value.job_status == "running"
    assert "driver.jobs.wait('job-1')" in str(caught.value)
    assert not any(method == "POST" and path.endswith("/cancel")
                   for method, path, _ in fake_ttp.calls())


def test_progress_bar_shows_rounds(
    driver: Driver, fake_ttp: FakeTTP, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ttp.script("GET", JOB, job_answer("running", 1, 3), job_answer("succeeded", 3, 3))
    driver.models.create("p1", "e1", "r1")
    err = capsys.readouterr().err
    assert "3/3" in err
    assert "training" in err


def test_progress_false_prints_nothing(
    driver: Driver, fake_ttp: FakeTTP, capsys: pytest.CaptureFixture[str]
) -> None:
    driver.models.create("p1", "e1", "r1", progress=False)
    assert capsys.readouterr().err == ""


def test_synchronous_answer_without_job_is_returned_as_is(
    driver: Driver, fake_ttp: FakeTTP
) -> None:
    done = envelope([{"key": {"project_id": "p1"}}], 200)
    fake_ttp.script("POST", "/ttp/train/projects/p1/alignments", CannedResponse(200, done))
    assert driver.alignments.create("p1", progress=False) == done
    assert len(fake_ttp.requests) == 1


class FakeClock:
    """Time that moves only when the waiter sleeps (the fake TTP answers at once)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.naps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds


def test_polling_interval_grows_to_two_seconds(driver: Driver, fake_ttp: FakeTTP) -> None:
    fake_ttp.script("GET", JOB, *[job_answer("running", 1) for _ in range(8)])
    clock = FakeClock()
    waiter = JobWaiter(driver._transport, sleep=clock.sleep, clock=lambda: clock.now)
    final = waiter.wait("job-1", progress=False)
    assert final["data"]["status"] == "succeeded"
    intervals = [0.25, 0.375, 0.5625, 0.84375, 1.265625, 1.8984375, 2.0, 2.0]
    assert clock.naps == pytest.approx(intervals)
    # every poll asks the server to hold its answer for the interval (a long-poll)
    holds = [float(request.query["wait"][0]) for request in fake_ttp.requests
             if request.path == JOB]
    assert holds == pytest.approx([*intervals, 2.0], abs=1e-3)


def test_a_server_that_held_the_answer_is_asked_again_at_once(
        driver: Driver, fake_ttp: FakeTTP) -> None:
    fake_ttp.script("GET", JOB, *[job_answer("running", 1) for _ in range(3)])
    clock = FakeClock()

    def holding_get(path: str, query: dict | None = None) -> dict:
        clock.now += float((query or {}).get("wait", 0))  # as a long-polling TTP does
        return driver._transport.request("GET", path, query=query)

    transport = type("HoldingTransport", (), {"get": staticmethod(holding_get),
                                              "read_timeout": 60.0})()
    waiter = JobWaiter(transport, sleep=clock.sleep, clock=lambda: clock.now)
    assert waiter.wait("job-1", progress=False)["data"]["status"] == "succeeded"
    assert all(nap < 0.002 for nap in clock.naps)  # only what the rounded hold left


def test_the_hold_stays_under_the_http_timeout(fake_ttp: FakeTTP) -> None:
    with Driver(host="127.0.0.1", port=fake_ttp.port, timeout=1.0) as short:
        fake_ttp.script("GET", JOB, *[job_answer("running", 1) for _ in range(6)])
        clock = FakeClock()
        JobWaiter(short._transport, sleep=clock.sleep, clock=lambda: clock.now).wait(
            "job-1", progress=False)
    holds = [float(request.query["wait"][0]) for request in fake_ttp.requests
             if request.path == JOB]
    assert max(holds) == pytest.approx(0.5)


def test_jobs_wait_and_resume(driver: Driver, fake_ttp: FakeTTP) -> None:
    fake_ttp.script("GET", JOB, job_answer("running", 1), job_answer("succeeded", 2))
    final = driver.jobs.wait("job-1", progress=False)
    assert final["data"]["status"] == "succeeded"
    fake_ttp.script("POST", "/ttp/jobs/job-1/resume",
                    CannedResponse(200, envelope(job_record("job-1", "queued"))))
    fake_ttp.script("GET", JOB, job_answer("failed", 1, error="boom"))
    with pytest.raises(JobFailedError, match="boom"):
        driver.jobs.resume("job-1", progress=False)
    assert fake_ttp.calls()[-2:] == [("POST", "/ttp/jobs/job-1/resume", {}), ("GET", JOB, None)]


def test_server_lost_while_waiting_says_how_to_resume(fake_ttp: FakeTTP) -> None:
    driver = Driver(host="127.0.0.1", port=fake_ttp.port, timeout=5)
    driver.models.create("p1", wait=False)
    fake_ttp.stop()
    driver.close()
    with pytest.raises(UnreachableError, match=r"driver\.jobs\.wait\('job-1'\)"):
        driver.jobs.wait("job-1", progress=False)
    fake_ttp.start()  # the fixture stops it again
