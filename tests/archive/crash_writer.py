"""Child process for the crash tests: writes records forever, acknowledging each on stdout.

Usage: python crash_writer.py ARCHIVE PREFIX. Prints `created <project>`, `expt <project>`
and `deleted <project>` after the corresponding write returned (i.e. was fsync'ed).
"""

from __future__ import annotations

import sys

from synarchive import Archive


def main(path: str, prefix: str) -> None:
    """Create projects with an experiment; delete every third one (a cascade)."""
    archive = Archive(path, compact_every=15)
    projects, experiments = archive.table("Project"), archive.table("Experiment")
    model = [{"l_type": "Linear", "structure": {"in_features": 4, "out_features": 1}}]
    count = 0
    while True:
        project = f"{prefix}_{count}"
        projects.create({"project_id": project}, {"action": "classify", "incentives": {}})
        print(f"created {project}", flush=True)
        experiments.create({"project_id": project, "expt_id": "e"}, {"model": model})
        print(f"expt {project}", flush=True)
        if count % 3 == 2:
            victim = f"{prefix}_{count - 1}"
            projects.delete({"project_id": victim})
            print(f"deleted {victim}", flush=True)
        count += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
