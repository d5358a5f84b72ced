"""Real processes: SIGKILL during writes never loses an acknowledged write; one writer only."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from synarchive import Archive

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("crash_writer.py")
KILLS = 15


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}


def run_and_kill(path: Path, prefix: str, rng: random.Random) -> list[str]:
    """Start a writer, SIGKILL it at a random moment, return its acknowledged lines."""
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), prefix],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), cwd=REPO_ROOT,
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    wanted = rng.randint(1, 60)
    try:
        while len(acknowledged) < wanted:
            line = child.stdout.readline()
            if not line:
                raise AssertionError(f"writer died: {child.stderr.read().decode()}")
            acknowledged.append(line.decode())
        time.sleep(rng.uniform(0, 0.004))  # land somewhere inside a later write
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    # Read the rest from the same buffered reader: lines that readline() had already buffered
    # are not in the pipe any more (communicate() read past them, and lost acknowledgements
    # made the test report deletes it had not seen as lost creates).
    acknowledged.extend(child.stdout.read().decode().splitlines(keepends=True))
    child.stdout.close()
    assert child.stderr is not None
    child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return [line.strip() for line in acknowledged if line.endswith("\n")]


def unacknowledged_delete(lines: list[str]) -> str | None:
    """The project the killed writer was deleting, if its last acknowledgement preceded one."""
    verb, project = lines[-1].split()
    prefix, count = project.rsplit("_", 1)
    if verb == "expt" and int(count) % 3 == 2:
        return f"{prefix}_{int(count) - 1}"
    return None


def test_sigkill_never_loses_an_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "crash.json"
    seed = int(os.environ.get("ARCHIVE_CRASH_SEED", random.randrange(2**32)))
    rng = random.Random(seed)  # kill moments; rerun a failure with ARCHIVE_CRASH_SEED=<seed>
    present: set[str] = set()
    with_expt: set[str] = set()
    deleted: set[str] = set()
    for round_number in range(KILLS):
        lines = run_and_kill(path, f"k{round_number}", rng)
        for line in lines:
            verb, project = line.split()
            if verb == "created":
                present.add(project)
            elif verb == "expt":
                with_expt.add(project)
            else:
                present.discard(project)
                deleted.add(project)
        in_flight_delete = unacknowledged_delete(lines)
        with Archive(path) as archive:  # the file always loads
            projects = archive.table("Project")
            stored = {p["key"]["project_id"] for p in projects.read_all(include_relations=False)}
            if in_flight_delete and in_flight_delete not in stored:  # it landed: fine either way
                present.discard(in_flight_delete)
                deleted.add(in_flight_delete)
            assert present <= stored, f"seed {seed}: lost acknowledged creates {present - stored}"
            assert not (deleted & stored), f"seed {seed}: deletes came back {deleted & stored}"
            expts = archive.table("Experiment").read_all(include_relations=False)
            expt_projects = {e["key"]["project_id"] for e in expts}
            assert (with_expt - deleted) <= expt_projects, f"seed {seed}: lost experiments"
            assert not (deleted & expt_projects), f"seed {seed}: a cascade was half applied"
            assert expt_projects <= stored, f"seed {seed}: an experiment outlived its project"
    assert len(present) > KILLS  # the writers really wrote


def test_a_second_writer_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "locked.json"
    probe = (
        "import sys\n"
        "from synarchive import Archive, ArchiveLockedError\n"
        "try:\n"
        "    Archive(sys.argv[1]).close()\n"
        "except ArchiveLockedError as error:\n"
        "    print('locked:', error)\n"
        "else:\n"
        "    print('opened')\n"
    )

    def try_open() -> str:
        done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True,
                              env=child_env(), cwd=REPO_ROOT, timeout=60, check=True)
        return done.stdout.decode()

    archive = Archive(path)
    try:
        answer = try_open()
        assert answer.startswith("locked:") and "only one writer" in answer
    finally:
        archive.close()
    assert try_open().startswith("opened")


def test_a_second_archive_object_in_one_process_is_refused(tmp_path: Path) -> None:
    from synarchive import ArchiveLockedError

    path = tmp_path / "same.json"
    with Archive(path):
        try:
            Archive(path)
        except ArchiveLockedError:
            pass
        else:
            raise AssertionError("a second Archive on the same file was allowed")
