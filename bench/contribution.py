"""Cost of per-round contributions: coalition evaluations, Worker calls and seconds per round,
and a training's wall time with `contribution: true` against without.

Run from the repository root: `.venv/bin/python -m bench.contribution [--configs 3:auto 5:off
5:auto 8:auto 8:gtg 16:gtg] [--rounds 5] [--markdown out.md]`. A config is `N:method`, with
method `off` (a plain training), `auto` (exact up to 8 participants), `exact` or `gtg`.

Task (`bench/common.py`): logistic regression on breast_cancer, IID split into N Workers
(their `train` data) plus the held-out test set split into N `evaluate` parts, FedAvg, 1 local
epoch, batch 32, SGD lr 0.1, the default utility (accuracy). Every node is a process on this
machine, as in `bench/round_overhead.py`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import common
from bench.report import publish
from bench.synergos_grid import DATASET, EXPERIMENT, PROJECT, RUN, run_fields
from synergos import Driver
from synergos_datasets.builder import write_tabular_folder
from synergos_testing.local_processes import LOOPBACK, NodeProcesses

DEFAULT_CONFIGS = ["3:auto", "5:off", "5:auto", "8:auto", "8:gtg", "16:gtg"]


def write_folders(root: Path, n_clients: int) -> list[Path]:
    """Each client's train partition and one slice of the test set as its evaluate data."""
    _, _, x_test, y_test = common.load_task()
    test_parts = np.array_split(np.arange(len(y_test)), n_clients)
    folders = []
    for index in range(n_clients):
        features, labels = common.client_data(index, n_clients)
        folder = root / f"client_{index}"
        for meta, (x, y) in {"train": (features, labels),
                             "evaluate": (x_test[test_parts[index]],
                                          y_test[test_parts[index]])}.items():
            frame = pd.DataFrame(x, columns=[f"x{j:02d}" for j in range(x.shape[1])])
            frame["target"] = np.asarray(y).astype(int)
            schema = {name: "float32" for name in frame.columns} | {"target": "int32"}
            write_tabular_folder(folder / DATASET / meta, frame, schema)
        folders.append(folder)
    return folders


def measure(n_clients: int, method: str, rounds: int, home: Path) -> dict[str, Any]:
    """Train once on a fresh grid; the training's seconds and the per-round costs."""
    folders = write_folders(home / "data", n_clients)
    run = run_fields(rounds, common.BATCH_SIZE)
    if method != "off":
        run.update({"contribution": True, "contribution_method": method})
    with NodeProcesses(home / "logs") as processes:
        workers = [processes.start_worker(f"w{i}", folder, home / f"w{i}",
                                          extra_args=("--cpus", "1"))
                   for i, folder in enumerate(folders)]
        ttp = processes.start_ttp("ttp", home / "ttp" / "data", home / "ttp" / "outputs")
        processes.wait_healthy(timeout=600)
        with Driver(host=LOOPBACK, port=ttp.port, token=ttp.token, timeout=600) as driver:
            driver.projects.create(project_id=PROJECT, action="classify", incentives={})
            driver.experiments.create(project_id=PROJECT, expt_id=EXPERIMENT,
                                      model=common.model_spec("logreg"))
            driver.runs.create(project_id=PROJECT, expt_id=EXPERIMENT, run_id=RUN, **run)
            for index, node in enumerate(workers):
                pid = f"client_{index:02d}"
                driver.participants.create(participant_id=pid, host=LOOPBACK,
                                           port=node.data_port, f_port=node.port,
                                           token=node.token)
                driver.registrations.create(project_id=PROJECT, participant_id=pid,
                                            role="host")
                driver.tags.create(project_id=PROJECT, participant_id=pid,
                                   train=[[DATASET, "train"]], evaluate=[[DATASET, "evaluate"]])
            driver.alignments.create(project_id=PROJECT, progress=False, timeout=600)
            started = time.perf_counter()
            driver.models.create(project_id=PROJECT, progress=False, timeout=3600)
            training_s = time.perf_counter() - started
            record = driver.models.read(PROJECT, EXPERIMENT, RUN)["data"][0]
    entries = [report["contribution"] for report in record["rounds"]
               if "contribution" in report]
    return {
        "clients": n_clients, "method": method, "training_s": training_s,
        "fit_round_s": statistics.median(report["seconds"] for report in record["rounds"]),
        "evaluations": _median(entries, "evaluations"), "calls": _median(entries, "calls"),
        "contribution_s": _median(entries, "seconds"),
        "permutations": _median(entries, "permutations"),
        "errors": [entry["error"] for entry in entries if "error" in entry],
    }


def _median(entries: list[dict[str, Any]], field: str) -> float | None:
    values = [entry[field] for entry in entries if field in entry]
    return statistics.median(values) if values else None


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per config; the overhead is against the plain training of the same N."""
    plain = {r["clients"]: r["training_s"] for r in results if r["method"] == "off"}
    lines = ["| N | method | training (s) | vs plain | fit round median (s) | "
             "coalition evaluations / round | Worker calls / round (per evaluator) | "
             "contribution s / round | GTG permutations |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        base = plain.get(r["clients"])
        ratio = f"{r['training_s'] / base - 1:+.0%}" if base and r["method"] != "off" else ""
        lines.append(f"| {r['clients']} | {r['method']} | {r['training_s']:.2f} | {ratio} | "
                     f"{r['fit_round_s']:.3f} | {_shown(r['evaluations'])} | "
                     f"{_shown(r['calls'])} | {_shown(r['contribution_s'], 3)} | "
                     f"{_shown(r['permutations'])} |")
    return "\n".join(lines)


def _shown(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _measure_once(n_clients: int, method: str, rounds: int) -> dict[str, Any]:
    """One training on a fresh grid; tried a second time when a node cannot start (a port
    taken by another process between the choice and the bind)."""
    for attempt in (1, 2):
        with tempfile.TemporaryDirectory(prefix=f"synergos-contrib-{n_clients}-") as home:
            try:
                return measure(n_clients, method, rounds, Path(home))
            except RuntimeError as error:
                if attempt == 2 or "exited early" not in str(error):
                    raise
                print(f"  a node did not start, trying again: {error}"[:200], file=sys.stderr)
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> None:
    """Measure every config in turn and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3,
                        help="trainings per config; the table shows the median")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    results = []
    for config in args.configs:
        count, method = config.split(":")
        print(f"contribution bench: N={count} {method} ...", file=sys.stderr, flush=True)
        tries = []
        for _ in range(args.repeat):
            tries.append(_measure_once(int(count), method, args.rounds))
            print(f"  {markdown_table([tries[-1]]).splitlines()[-1]}", file=sys.stderr,
                  flush=True)
        result = sorted(tries, key=lambda r: r["training_s"])[len(tries) // 2]
        if result["errors"]:
            print(f"  round errors: {result['errors']}", file=sys.stderr)
        results.append(result)
    publish(f"Contribution cost, {args.rounds} rounds", "bench.contribution", argv,
            markdown_table(results), args.markdown)


if __name__ == "__main__":
    main()
