"""Round time of a training while a peer attacks all three kinds of port at once (every
Worker's data port and command port, and the TTP), against the same training without an
attack, in one run.

Run from the repository root: `.venv/bin/python -m bench.training_under_attack
[--clients 2] [--rounds 10] [--attacks 800 2400] [--markdown out.md]`.

The task is `bench/common.py`'s (logistic regression on breast_cancer, FedAvg). An attack of
size N holds N connections in all: half on the Workers' data ports, a quarter on their
command ports and a quarter on the TTP, shared evenly between the Workers, one attacker
process per port (`tests/support/slow_attack.py`, from 127.0.0.2), three quarters of its
connections dribbling a request head one byte per half second and a quarter silent,
reopening every connection the node closes. It starts after the alignment and ends with the
training. The table gives the steady round time (median of rounds 2..R), its ratio to the
run without an attack, and what the attackers saw (connections opened, refused with an
answer, cut by a deadline).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.report import publish
from bench.synergos_grid import run_synergos
from synergos_testing.local_processes import LOOPBACK

ATTACKER = "127.0.0.2"


def targets(workers: list[Any], ttp: Any, size: int) -> list[tuple[str, int, int]]:
    """`(port kind, port, connections)` of an attack of `size` connections in all."""
    data, command = size // 2 // len(workers), size // 4 // len(workers)
    return ([("data", node.data_port, data) for node in workers]
            + [("command", node.port, command) for node in workers]
            + [("ttp", ttp.port, size - (data + command) * len(workers))])


@contextmanager
def attack(workers: list[Any], ttp: Any, size: int, folder: Path,
           totals: dict[str, int]) -> Iterator[None]:
    """Attack every port of the grid with `size` connections in all until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    attackers = []
    for index, (kind, port, count) in enumerate(targets(workers, ttp, size)):
        dribblers, silent = count * 3 // 4, count - count * 3 // 4
        ready, stats = folder / f"ready-{kind}-{index}", folder / f"stats-{kind}-{index}"
        attackers.append((subprocess.Popen(
            [sys.executable, "-m", "tests.support.slow_attack", LOOPBACK, str(port),
             ATTACKER, str(dribblers), str(silent), "3600", str(ready), str(stats)]),
            stats))
        while not ready.exists():  # every connection tried once
            if attackers[-1][0].poll() is not None:
                raise RuntimeError("an attacker exited early")
            time.sleep(0.1)
    try:
        yield
    finally:
        for process, stats in attackers:
            process.terminate()
            process.wait(timeout=30)
            if stats.exists():
                for name, count in json.loads(stats.read_text()).items():
                    totals[name] = totals.get(name, 0) + count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--attacks", type=int, nargs="+", default=[800, 2400])
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = []
    baseline = None
    with tempfile.TemporaryDirectory() as scratch:
        for size in [0, *args.attacks]:
            home = Path(scratch) / f"attack-{size}"
            totals: dict[str, int] = {}
            def during(workers: list[Any], ttp: Any, size: int = size, home: Path = home,
                       totals: dict[str, int] = totals) -> Any:
                return attack(workers, ttp, size, home / "attack", totals)
            try:
                result = run_synergos(args.clients, home, rounds=args.rounds,
                                      during_training=during if size else None)
                outcome, steady = "succeeded", result["steady_round_s"]
            except RuntimeError as error:
                outcome, steady = f"failed: {error}", None
            baseline = steady if size == 0 else baseline
            ratio = f"{steady / baseline:.2f}" if steady and baseline else "-"
            rows.append(f"| {size} | {outcome} | "
                        f"{steady * 1000:.0f} ms | {ratio} | {totals.get('opened', 0)} | "
                        f"{totals.get('refused', 0)} | {totals.get('cut', 0)} |"
                        if steady else f"| {size} | {outcome} | - | - | | | |")
            print(rows[-1], flush=True)
    table = "\n".join([
        "| hostile connections held | training | steady round | x without | opened | "
        "refused | cut |", "|---|---|---|---|---|---|---|", *rows])
    body = (f"{args.clients} Workers, {args.rounds} rounds; attackers from {ATTACKER}: half "
            f"of the connections on the data ports, a quarter on the command ports, a "
            f"quarter on the TTP\n\n{table}")
    publish("## Training under attack", "bench.training_under_attack", argv, body,
            args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
