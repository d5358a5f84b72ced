"""A TTP killed with SIGKILL mid-training: after a restart the job is `interrupted`, and
resuming it finishes the training from the last checkpoint (real processes)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.engine.conftest import unique
from tests.engine.local_grid import (
    SLOW_RUN,
    LocalGrid,
    kill_ttp_after_first_checkpoint,
)

pytestmark = pytest.mark.integration


def test_a_killed_ttp_resumes_training_from_its_last_checkpoint(own_ttp: LocalGrid) -> None:
    project_id = unique("restart")
    job_id = kill_ttp_after_first_checkpoint(own_ttp, project_id, {**SLOW_RUN, "rounds": 3})
    killed_at = datetime.now(timezone.utc)
    own_ttp.start_ttp(name="ttp_restarted")
    with own_ttp.driver() as driver:
        job = driver.jobs.read(job_id)["data"]
        assert job["status"] == "interrupted", job
        done = job["checkpoint"]["round"]
        assert 1 <= done < 3
        folder = Path(job["checkpoint"]["path"]).parent
        before = {path.name: path.stat().st_mtime_ns for path in folder.glob("*.safetensors")}
        # the last two rounds' checkpoints are kept, older ones dropped
        assert sorted(before) == [f"round_{k}.safetensors"
                                  for k in range(max(1, done - 1), done + 1)]

        finished = driver.jobs.resume(job_id, timeout=120, progress=False)["data"]
        assert finished["status"] == "succeeded" and finished["attempts"] == 2
        model = driver.models.read(project_id, "expt", "run")["data"][0]
    assert model["rounds_completed"] == 3
    assert [report["round"] for report in model["rounds"]] == [1, 2, 3]
    assert list(model["global"]["loss_history"]["train"]) == ["1", "2", "3"]
    after = {path.name: path.stat().st_mtime_ns for path in folder.glob("*.safetensors")}
    # finished rounds were not redone: they ran before the kill, the others after it
    started = [datetime.fromisoformat(report["started_at"].replace("Z", "+00:00"))
               for report in model["rounds"]]
    assert all(moment < killed_at for moment in started[:done]), (started, killed_at)
    assert all(moment > killed_at for moment in started[done:]), (started, killed_at)
    if done == 2:  # its checkpoint is still kept, untouched
        assert after["round_2.safetensors"] == before["round_2.safetensors"]
    assert sorted(after) == ["round_2.safetensors", "round_3.safetensors"]
    # the round history beside them holds one line per finished round
    assert (folder / "rounds.jsonl").exists()
