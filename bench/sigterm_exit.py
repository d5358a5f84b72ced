"""How long a TTP told to stop (SIGTERM) mid-training takes to exit when its Workers are gone,
and how much CPU it burns while they are.

Run from the repository root: `.venv/bin/python -m bench.sigterm_exit [--round-timeout 60]
[--window 10] [--markdown out.md]`.

Per scenario, a fresh grid (two Workers, one TTP, real processes on loopback) trains a long
run; once round 1 is checkpointed the Workers go (`hung`: both stopped with SIGSTOP, their
connections open and silent; `killed+hung`: one SIGKILLed, the other stopped). Reported: the
TTP's CPU seconds over `--window` seconds with its Workers gone, the seconds from SIGTERM to
its exit, its exit status, and whether it had to leave threads behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.report import publish
from synergos_datasets.builder import build_examples
from tests.engine.local_grid import (
    SLOW_RUN,
    LocalGrid,
    dataset_tags,
    register_project,
    wait_for,
)

SCENARIOS = ("hung", "killed+hung")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(scenario: str, home: Path, data: Path, round_timeout: float, window: float
            ) -> str:
    """One table row: train, take the Workers away, watch, SIGTERM, time the exit."""
    grid = LocalGrid(home)
    try:
        grid.start_workers({"p1": data / "party_1", "p2": data / "party_2"})
        ttp = grid.start_ttp()
        tags = dataset_tags("breast_cancer")
        with grid.driver() as driver:
            register_project(driver, grid, "bench", {"p1": tags, "p2": tags}, runs={
                "run": {**SLOW_RUN, "rounds": 500, "round_timeout": round_timeout}})
            driver.alignments.create(project_id="bench", progress=False, timeout=300)
            job_id = driver.models.create(project_id="bench", expt_id="expt", run_id="run",
                                          wait=False)["data"]["job_id"]
            wait_for(lambda: (driver.jobs.read(job_id)["data"]["checkpoint"] or {}).get(
                "round", 0) >= 1, timeout=300)
        if scenario == "killed+hung":
            grid.workers["p1"].service.kill()
        for node in grid.workers.values():
            if node.service.process is not None and node.service.process.poll() is None:
                node.pause()
        assert ttp.process is not None
        before, started = cpu_seconds(ttp.process.pid), time.monotonic()
        time.sleep(window)  # the measurement window itself
        cpu = cpu_seconds(ttp.process.pid) - before
        watched = time.monotonic() - started
        signalled = time.monotonic()
        os.killpg(ttp.process.pid, signal.SIGTERM)
        code = ttp.process.wait(timeout=round_timeout + 600)
        seconds = time.monotonic() - signalled
        log = ttp.log_tail(50_000)
        left = "yes" if "exiting without" in log or "stopping now" in log else "no"
        return (f"| {scenario} | {cpu:.2f} over {watched:.0f} s | {seconds:.1f} | {code} "
                f"| {left} |")
    finally:
        grid.stop()


def main(argv: list[str] | None = None) -> int:
    """Measure every scenario and print the table (and write it to `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-timeout", type=float, default=60.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "datasets"
        build_examples(data, parties=2, names=["breast_cancer"])
        rows = [measure(scenario, Path(folder) / scenario.replace("+", "_"), data,
                        args.round_timeout, args.window) for scenario in SCENARIOS]
    load = os.getloadavg()
    body = "\n".join([
        f"Round deadline {args.round_timeout:g} s; load average at the end "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.", "",
        "| Workers | TTP CPU s while they are gone | s from SIGTERM to exit | exit status "
        "| threads left behind |", "|---|---:|---:|---:|---|", *rows])
    publish("A TTP stopped mid-training with its Workers gone", "bench.sigterm_exit", argv,
            body, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
