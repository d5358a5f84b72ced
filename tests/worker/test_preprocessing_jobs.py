"""`PreprocessingJobs` on real data: one job per project, latest request wins, errors kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergos_worker.datasets import TagNotFound
from synergos_worker.preprocessing_jobs import NeverPolled, PollRequest, PreprocessingJobs
from synergos_worker.project_store import ProjectStore
from tests.datasets.builders import write_tabular
from tests.worker.fixture_data import CLASSIFY_SCHEMA, classify_csv


@pytest.fixture
def jobs(tmp_path: Path) -> PreprocessingJobs:
    """Jobs over a data root with a small (`small`) and a larger (`large`) dataset."""
    write_tabular(tmp_path / "data" / "small", classify_csv(6), CLASSIFY_SCHEMA)
    write_tabular(tmp_path / "data" / "large", classify_csv(30_000), CLASSIFY_SCHEMA)
    outputs = tmp_path / "outputs"
    return PreprocessingJobs(tmp_path / "data", outputs, ProjectStore(outputs), grace_seconds=0)


def request(tag: str) -> PollRequest:
    """A classify poll of one train tag."""
    return PollRequest(action="classify", tags={"train": [[tag]]})


def test_unknown_project_raises_never_polled(jobs: PreprocessingJobs) -> None:
    with pytest.raises(NeverPolled):
        jobs.outcome("p")


def test_a_finished_job_is_ready_and_its_poll_is_saved(jobs: PreprocessingJobs) -> None:
    assert jobs.submit("p", request("small")) == "running"
    assert jobs.wait("p", 30)
    outcome = jobs.outcome("p")
    assert outcome.status == "ready" and outcome.answer["train"]["metadata"]["n_rows"] == 6
    saved = jobs.store.load_poll("p")
    assert saved["action"] == "classify" and saved["tags"] == {"train": [["small"]]}
    assert saved["metas"]["train"]["headers"] == outcome.answer["train"]["headers"]


def test_a_request_made_while_running_replaces_the_queued_one(jobs: PreprocessingJobs) -> None:
    jobs.submit("p", request("large"))
    jobs.submit("p", request("missing"))
    jobs.submit("p", request("small"))  # replaces the queued 'missing' request
    assert jobs.outcome("p").status == "running"
    assert jobs.wait("p", 60)
    outcome = jobs.outcome("p")
    assert outcome.status == "ready" and outcome.answer["train"]["metadata"]["n_rows"] == 6


def test_a_failed_job_keeps_its_error(jobs: PreprocessingJobs) -> None:
    jobs.submit("p", request("missing"))
    assert jobs.wait("p", 30)
    outcome = jobs.outcome("p")
    assert outcome.status == "failed" and isinstance(outcome.error, TagNotFound)
    assert jobs.store.load_poll("p") is None


def test_a_grace_period_reports_cache_hits_as_ready(tmp_path: Path,
                                                    jobs: PreprocessingJobs) -> None:
    jobs.submit("p", request("small"))
    jobs.wait("p", 30)
    patient = PreprocessingJobs(jobs.data_dir, jobs.outputs_dir, jobs.store, grace_seconds=10)
    assert patient.submit("p", request("small")) == "ready"
