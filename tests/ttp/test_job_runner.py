"""`JobRunner` on a real archive file with trivial targets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from synarchive import Archive
from synergos_ttp.jobs import JobCancelled, JobContext, JobNotFound, JobRunner, JobStateConflict
from synergos_ttp.jobs.records import JobRecords

WAIT = 10.0


@pytest.fixture()
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive(tmp_path / "database.json") as opened:
        yield opened


@pytest.fixture()
def runner(archive: Archive) -> Iterator[JobRunner]:
    job_runner = JobRunner(archive, max_workers=2)
    yield job_runner
    job_runner.shutdown(timeout=WAIT)


def wait_until_running(runner: JobRunner, job_id: str) -> None:
    for _ in range(200):
        if runner.get(job_id)["status"] == "running":
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"job {job_id} never started: {runner.get(job_id)}")


def blocking_target(release: threading.Event, rounds: int = 3):
    """A target that reports a round, then waits for `release` (or a cancel) each round."""

    def target(context: JobContext) -> dict:
        for current in range(1, rounds + 1):
            context.report_progress(current, rounds, message=f"round {current}")
            while not release.wait(0.01):
                context.raise_if_cancelled()
        return {"rounds": rounds}

    return target


def test_success_stores_result_timings_and_progress(runner: JobRunner) -> None:
    release = threading.Event()
    job = runner.submit("training", {"project_id": "p1"}, blocking_target(release))
    assert job["status"] == "queued" and job["kind"] == "training"
    assert job["params"] == {"project_id": "p1"} and job["created_at"]
    wait_until_running(runner, job["job_id"])
    running = runner.get(job["job_id"])
    assert running["progress"] == {"current": 1, "total": 3, "unit": "round",
                                   "message": "round 1"}
    assert running["started_at"] and running["finished_at"] is None
    release.set()
    done = runner.wait(job["job_id"], timeout=WAIT)
    assert done["status"] == "succeeded" and done["result"] == {"rounds": 3}
    assert done["progress"]["current"] == 3 and done["error"] is None
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]


def test_exception_fails_the_job_with_its_message(runner: JobRunner) -> None:
    def target(context: JobContext) -> None:
        raise ValueError("worker w1 unreachable")

    job = runner.wait(runner.submit("training", {}, target)["job_id"], timeout=WAIT)
    assert job["status"] == "failed"
    assert job["error"] == "ValueError: worker w1 unreachable"


@pytest.mark.parametrize("result", [["not", "a", "dict"], {"tensor": object()}])
def test_unstorable_result_fails_the_job(runner: JobRunner, result: object) -> None:
    job = runner.submit("alignment", {}, lambda context: result)
    finished = runner.wait(job["job_id"], timeout=WAIT)
    assert finished["status"] == "failed" and finished["result"] is None
    assert finished["error"]


def test_none_result_succeeds(runner: JobRunner) -> None:
    job = runner.wait(runner.submit("alignment", {}, lambda context: None)["job_id"], WAIT)
    assert (job["status"], job["result"]) == ("succeeded", None)


def test_cancel_running_job(runner: JobRunner) -> None:
    job = runner.submit("training", {}, blocking_target(threading.Event()))
    wait_until_running(runner, job["job_id"])
    answer = runner.cancel(job["job_id"])
    assert answer["cancel_requested"] is True
    finished = runner.wait(job["job_id"], timeout=WAIT)
    assert finished["status"] == "cancelled" and finished["finished_at"]
    with pytest.raises(JobStateConflict):
        runner.cancel(job["job_id"])


def test_cancel_queued_job_never_runs_it(archive: Archive) -> None:
    runner = JobRunner(archive, max_workers=1)
    release, ran = threading.Event(), threading.Event()
    try:
        first = runner.submit("training", {}, blocking_target(release, rounds=1))
        second = runner.submit("training", {}, lambda context: ran.set())
        assert runner.cancel(second["job_id"])["status"] == "cancelled"
        release.set()
        assert runner.wait(first["job_id"], timeout=WAIT)["status"] == "succeeded"
        assert runner.wait(second["job_id"], timeout=WAIT)["status"] == "cancelled"
        assert not ran.is_set()
    finally:
        runner.shutdown(timeout=WAIT)


def test_unknown_job_and_bad_submissions(runner: JobRunner) -> None:
    with pytest.raises(JobNotFound):
        runner.get("nope")
    with pytest.raises(JobNotFound):
        runner.cancel("nope")
    with pytest.raises(JobNotFound):
        runner.resume("nope")
    with pytest.raises(TypeError):
        runner.submit("training", {"model": object()}, lambda context: None)
    with pytest.raises(ValueError):
        runner.submit(" ", {}, lambda context: None)
    assert runner.list_jobs() == []


def test_list_filters_by_status_and_kind(runner: JobRunner) -> None:
    ok = runner.submit("alignment", {}, lambda context: {"ok": True})
    bad = runner.submit("training", {}, lambda context: 1 / 0)
    for job in (ok, bad):
        runner.wait(job["job_id"], timeout=WAIT)
    assert [j["job_id"] for j in runner.list_jobs()] == [ok["job_id"], bad["job_id"]]
    assert [j["job_id"] for j in runner.list_jobs(status="failed")] == [bad["job_id"]]
    assert [j["job_id"] for j in runner.list_jobs(kind="alignment")] == [ok["job_id"]]
    assert runner.list_jobs(status="failed", kind="alignment") == []


def test_checkpoint_and_resume(runner: JobRunner) -> None:
    def crashing(context: JobContext) -> None:
        context.save_checkpoint_info({"round": 2, "path": "round_2.safetensors"})
        raise RuntimeError("worker lost")

    job = runner.wait(runner.submit("training", {"rounds": 5}, crashing)["job_id"], WAIT)
    assert job["status"] == "failed" and job["checkpoint"] == {"round": 2,
                                                               "path": "round_2.safetensors"}
    with pytest.raises(JobStateConflict):
        runner.resume(job["job_id"])  # no resumer registered for "training" yet

    def resume_from_checkpoint(record: dict):
        assert record["params"] == {"rounds": 5}
        return lambda context: {"resumed_at": context.checkpoint["round"]}

    runner.register_resumer("training", resume_from_checkpoint)
    again = runner.resume(job["job_id"])
    assert (again["job_id"], again["status"], again["attempts"]) == (job["job_id"], "queued", 2)
    finished = runner.wait(job["job_id"], timeout=WAIT)
    assert finished["status"] == "succeeded" and finished["result"] == {"resumed_at": 2}
    assert finished["error"] is None
    with pytest.raises(JobStateConflict):
        runner.resume(job["job_id"])


def test_restart_marks_unfinished_jobs_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "database.json"
    with Archive(path) as first_process:
        records = JobRecords(first_process)
        ids = {}
        for status in ("queued", "running", "succeeded"):
            ids[status] = records.create("training", {"n": 1})["job_id"]
            records.update(ids[status], {"status": status})
    with Archive(path) as second_process:
        runner = JobRunner(second_process)
        try:
            settled = runner.mark_interrupted_on_startup()
            assert {job["job_id"] for job in settled} == {ids["queued"], ids["running"]}
            running = runner.get(ids["running"])
            assert running["status"] == "interrupted" and "restarted" in running["error"]
            assert runner.get(ids["succeeded"])["status"] == "succeeded"
            runner.register_resumer("training", lambda record: lambda context: {"done": 1})
            runner.resume(ids["running"])
            assert runner.wait(ids["running"], timeout=WAIT)["status"] == "succeeded"
        finally:
            runner.shutdown(timeout=WAIT)


def test_shutdown_interrupts_running_and_queued_jobs(archive: Archive) -> None:
    runner = JobRunner(archive, max_workers=1)
    running = runner.submit("training", {}, blocking_target(threading.Event()))
    queued = runner.submit("training", {}, lambda context: {"ran": True})
    wait_until_running(runner, running["job_id"])
    runner.shutdown(timeout=WAIT)
    assert runner.get(running["job_id"])["status"] == "interrupted"
    assert runner.get(queued["job_id"])["status"] == "interrupted"
    with pytest.raises(RuntimeError):
        runner.submit("training", {}, lambda context: None)


def test_context_rejects_bad_progress(runner: JobRunner) -> None:
    seen: dict[str, str] = {}

    def target(context: JobContext) -> None:
        for bad in ((-1, 3), (True, 3), (1, "3")):
            try:
                context.report_progress(*bad)
            except ValueError as error:
                seen[repr(bad)] = str(error)
        context.cancelled.set()
        try:
            context.raise_if_cancelled()
        except JobCancelled:
            seen["cancel"] = "raised"
        return None

    runner.wait(runner.submit("training", {}, target)["job_id"], timeout=WAIT)
    assert len(seen) == 4
