"""Round time at N Workers with this tree's data port against another commit's, A/B in one run.

Run from the repository root: `.venv/bin/python -m bench.data_port_ab [--baseline 47e4e0a]
[--clients 8] [--rounds 200] [--pairs 3] [--markdown out.md]`.

The baseline commit is checked out into a temporary `git worktree`; each run trains
`bench/common.py`'s task through `bench.synergos_grid.run_synergos` in a fresh process whose
`PYTHONPATH` (inherited by the TTP and Worker processes it starts) is one of the two trees.
Runs alternate A, B, A, B, ... so that a change in the machine's load hits both sides alike.
The table gives each run's steady seconds per round (median of rounds 2..R) and the ratio of
the medians over all runs of each side (B's over A's: above 1 means this tree is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.report import publish

REPOSITORY = Path(__file__).resolve().parents[1]
TARGET = 1.10  # this tree's round at most 10 % slower than the baseline's
_CHILD = """
import json, sys, tempfile
from pathlib import Path
from bench.synergos_grid import run_synergos
with tempfile.TemporaryDirectory(prefix="data-port-ab-") as home:
    result = run_synergos(int(sys.argv[1]), Path(home), rounds=int(sys.argv[2]))
print("RESULT " + json.dumps({key: result[key] for key in
      ("clients", "rounds", "startup_s", "steady_round_s", "total_s", "test_accuracy")}))
"""


def run_once(tree: Path, clients: int, rounds: int) -> dict[str, Any]:
    """One training on the code of `tree`, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(clients), str(rounds)],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=1800,
                          check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the run on {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def measure(baseline: str, clients: int, rounds: int, pairs: int) -> list[dict[str, Any]]:
    """`pairs` A/B pairs: this tree (A) and `baseline` (B) alternately."""
    with tempfile.TemporaryDirectory(prefix="data-port-baseline-") as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "add", "--detach",
                        str(tree), baseline], check=True, capture_output=True)
        try:
            results = []
            for pair in range(pairs):
                for side, root in (("A (this tree)", REPOSITORY), (f"B ({baseline})", tree)):
                    print(f"pair {pair + 1}/{pairs}: {side} ...", file=sys.stderr, flush=True)
                    results.append({"side": side, "pair": pair + 1,
                                    **run_once(root, clients, rounds)})
                    print(json.dumps(results[-1]), file=sys.stderr, flush=True)
            return results
        finally:
            subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "remove", "--force",
                            str(tree)], check=False, capture_output=True)


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per run, then the medians of each side and their ratio."""
    lines = ["| run | side | N | rounds | startup s | s/round (median 2..R) | total s | "
             "test acc |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for index, result in enumerate(results, 1):
        lines.append(f"| {index} | {result['side']} | {result['clients']} | "
                     f"{result['rounds']} | {result['startup_s']:.2f} | "
                     f"{result['steady_round_s']:.4f} | {result['total_s']:.2f} | "
                     f"{result['test_accuracy']:.4f} |")
    sides: dict[str, list[float]] = {}
    for result in results:
        sides.setdefault(result["side"], []).append(result["steady_round_s"])
    (name_a, rounds_a), (name_b, rounds_b) = sides.items()
    median_a, median_b = statistics.median(rounds_a), statistics.median(rounds_b)
    ratio = median_a / median_b
    verdict = "met" if ratio <= TARGET else "MISSED"
    lines += ["", f"Median s/round: {name_a} {median_a:.4f}, {name_b} {median_b:.4f}; "
                  f"A/B = {ratio:.3f} (target <= {TARGET:.2f}: {verdict})."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table (and write it to `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="47e4e0a")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    results = measure(args.baseline, args.clients, args.rounds, args.pairs)
    publish(f"Round time at N = {args.clients}, this tree's data port against "
            f"{args.baseline}'s", "bench.data_port_ab", argv, markdown_table(results),
            args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
