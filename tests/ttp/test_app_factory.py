"""`create_ttp_app` builds without side effects, and two apps in one process stay independent
(the Director reuses the connect namespaces the same way)."""

from __future__ import annotations

from pathlib import Path

from synarchive import Archive
from synergos_ttp.app import create_ttp_app
from synergos_ttp.config import TTPConfig, build_ttp_parser
from synergos_ttp.jobs import JobRunner


def test_two_apps_keep_their_own_archives(tmp_path: Path) -> None:
    apps, archives, runners = [], [], []
    for name in ("a", "b"):
        config = TTPConfig.from_args(build_ttp_parser().parse_args([
            "--insecure", "--data_dir", str(tmp_path / name),
            "--outputs_dir", str(tmp_path / name / "out")]))
        archive = Archive(tmp_path / f"{name}.json")
        runner = JobRunner(archive, max_workers=1)
        apps.append(create_ttp_app(config, archive, runner))
        archives.append(archive)
        runners.append(runner)
    assert not (tmp_path / "a").exists()  # building the app started and wrote nothing
    try:
        first, second = (app.test_client() for app in apps)
        created = first.post("/ttp/connect/projects/",
                             json={"project_id": "p1", "action": "classify"})
        assert created.status_code == 201
        assert first.get("/ttp/connect/projects/p1").json["data"]["action"] == "classify"
        assert second.get("/ttp/connect/projects/p1").status_code == 404
        assert archives[0].table("Project").read({"project_id": "p1"}) is not None
    finally:
        for runner, archive in zip(runners, archives, strict=True):
            runner.shutdown()
            archive.close()
