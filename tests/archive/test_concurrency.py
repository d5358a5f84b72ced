"""Many threads writing one archive at once."""

from __future__ import annotations

import threading
from pathlib import Path

from synarchive import Archive

THREADS = 8
CREATES_PER_THREAD = 200


def test_threads_creating_at_once_lose_nothing(archive_path: Path) -> None:
    archive = Archive(archive_path, compact_every=100)
    archive.table("Project").create({"project_id": "p"}, {"action": "regress", "incentives": {}})
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def writer(worker: int) -> None:
        try:
            start.wait()
            runs = archive.table("Run")
            for n in range(CREATES_PER_THREAD):
                key = {"project_id": "p", "expt_id": f"e{worker}", "run_id": f"r{n}"}
                runs.create(key, {"rounds": 1 + n % 3})
                if n % 20 == 0:
                    assert runs.read(key)["rounds"] == 1 + n % 3
                    archive.table("Project").read({"project_id": "p"})
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = THREADS * CREATES_PER_THREAD
    assert len(archive.table("Run").read_all()) == expected
    project = archive.table("Project").read({"project_id": "p"})
    assert len(project["relations"]["Run"]) == expected
    archive.close()
    with Archive(archive_path) as reopened:
        runs = reopened.table("Run").read_all(include_relations=False)
        assert {(r["key"]["expt_id"], r["key"]["run_id"]) for r in runs} == {
            (f"e{w}", f"r{n}") for w in range(THREADS) for n in range(CREATES_PER_THREAD)
        }
