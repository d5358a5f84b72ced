"""Training under a malicious Worker: test accuracy per aggregator and attack, and the round
time the reply checks and `update_clip` cost.

Run from the repository root: `.venv/bin/python -m bench.untrusted_updates [--rounds 5]
[--cases FedAvg ...] [--attacks none scale ...] [--skip-accuracy] [--skip-cost]
[--cost-clients 8] [--cost-rounds 10] [--markdown out.md]`.

Accuracy: `bench/common.py`'s task (breast_cancer logistic regression, IID split) on four
Workers, one of them behind `bench/attack_proxy.py`, a process rewriting that Worker's
fit replies (the attack is named by the run); `min_workers` 3. For each aggregator and attack
the table gives the final model's test accuracy (or `failed`) and what the round reports said
of the attacker. Cost: N Workers, no attacker, rounds of runs that differ only in
`update_clip` (`"auto"` against null), alternated A B A B on one grid; the checks themselves
(`check_reply`) are timed in-process per reply, for the task's model and a 1M-parameter MLP.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from bench import common
from bench.report import publish
from bench.synergos_grid import DATASET, evaluate_weights, write_partitions
from synalgo.model_spec import build_model
from synalgo.update_clip import update_norm
from synergos import Driver
from synergos.errors import JobFailedError
from synergos_testing.local_processes import LOOPBACK, NodeProcesses, free_port
from synergos_ttp.engine.reply_checks import check_reply

CASES = {
    "FedAvg": {"algorithm": "FedAvg"},
    "FedProx": {"algorithm": "FedProx", "mu": 0.1},
    "FedAdam": {"algorithm": "FedAdam", "server_lr": 0.05},
    "median": {"algorithm": "FedAvg", "aggregator": "median"},
    "trimmed_mean": {"algorithm": "FedAvg", "aggregator": "trimmed_mean", "trim_ratio": 0.25},
    "krum": {"algorithm": "FedAvg", "aggregator": "krum", "krum_byzantine": 0},
}
ATTACKS = ("none", "nan", "inf", "nan1", "scale", "int64", "float16", "shape", "extra",
           "samples", "trickle", "huge")
ATTACKER = "client_3"
TRICKLE_DEADLINE = 3.0
COST_TARGET = 0.05


def base_run(rounds: int) -> dict[str, Any]:
    """The task's hyperparameters as run fields."""
    return {"optimizer": common.OPTIMIZER, "lr": common.LEARNING_RATE, "lr_scheduler": None,
            "criterion": common.CRITERION, "batch_size": common.BATCH_SIZE,
            "epochs": common.LOCAL_EPOCHS, "rounds": rounds, "seed": common.SEED,
            "patience": rounds + 1, "round_timeout": 60.0}


def connect(driver: Driver, workers: list[Any], data_ports: dict[str, int],
            spec: list[dict[str, Any]], runs: dict[str, dict[str, Any]]) -> None:
    """Project `bench`, experiment `model`, the runs, every Worker registered."""
    driver.projects.create(project_id="bench", action="classify", incentives={})
    driver.experiments.create(project_id="bench", expt_id="model", model=spec)
    for run_id, fields in runs.items():
        driver.runs.create(project_id="bench", expt_id="model", run_id=run_id, **fields)
    for index, node in enumerate(workers):
        pid = f"client_{index}"
        driver.participants.create(participant_id=pid, host=LOOPBACK,
                                   port=data_ports.get(pid, node.data_port), f_port=node.port,
                                   token=node.token)
        driver.registrations.create(project_id="bench", participant_id=pid, role="host")
        driver.tags.create(project_id="bench", participant_id=pid, train=[[DATASET, "train"]])
    driver.alignments.create(project_id="bench", progress=False, timeout=600)


def start_grid(processes: NodeProcesses, home: Path, count: int) -> tuple[list[Any], Any]:
    """`count` Workers (one CPU thread each) and a TTP, healthy."""
    folders = write_partitions(home / "data", count)
    workers = [processes.start_worker(f"w{i}", folder, home / f"w{i}",
                                      extra_args=("--cpus", "1"))
               for i, folder in enumerate(folders)]
    ttp = processes.start_ttp("ttp", home / "ttp" / "data", home / "ttp" / "outputs")
    processes.wait_healthy(timeout=600)
    return workers, ttp


def start_proxy(home: Path, target_port: int) -> tuple[subprocess.Popen, int]:
    """The attack proxy in front of `target_port`."""
    port = free_port()
    folder = home / "proxy"
    folder.mkdir(parents=True)
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.attack_proxy", str(port), str(target_port),
         str(folder)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (folder / "listening").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the attack proxy did not start")
        time.sleep(0.05)
    return process, port


def accuracy_under_attack(home: Path, rounds: int, cases: list[str],
                          attacks: list[str]) -> list[dict[str, Any]]:
    """One row per aggregator and attack: accuracy and the attacker's round statuses."""
    spec = common.model_spec("logreg")
    runs = {}
    for case in cases:
        fields = CASES[case]
        for attack in attacks:
            run = {**base_run(rounds), **fields, "min_workers": 3}
            if attack == "trickle":
                run["round_timeout"] = TRICKLE_DEADLINE
            runs[f"{case}-{attack}"] = run
    rows = []
    with NodeProcesses(home / "logs") as processes:
        workers, ttp = start_grid(processes, home, 4)
        proxy, proxy_port = start_proxy(home, workers[3].data_port)
        try:
            with Driver(host=LOOPBACK, port=ttp.port, token=ttp.token, timeout=600) as driver:
                connect(driver, workers, {ATTACKER: proxy_port}, spec, runs)
                for run_id in runs:
                    print(f"training {run_id} ...", file=sys.stderr, flush=True)
                    rows.append(train_one(driver, run_id, spec))
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
    return rows


def train_one(driver: Driver, run_id: str, spec: list[dict[str, Any]]) -> dict[str, Any]:
    """Train one run; its accuracy, the attacker's statuses and the longest round."""
    case, attack = run_id.rsplit("-", 1)
    row: dict[str, Any] = {"case": case, "attack": attack}
    try:
        driver.models.create(project_id="bench", expt_id="model", run_id=run_id,
                             progress=False, timeout=900)
    except JobFailedError as failure:
        return {**row, "accuracy": None, "attacker": "job failed: " + failure.job["error"][:80],
                "longest_round_s": None}
    record = driver.models.read("bench", "model", run_id)["data"][0]
    seen = Counter()
    for report in record["rounds"]:
        entry = report["participants"][ATTACKER]
        seen["clipped" if entry.get("clipped") else entry["status"]] += 1
    weights = Path(record["global"]["path"])
    return {**row, "accuracy": evaluate_weights(spec, weights)["accuracy"],
            "attacker": ", ".join(f"{status} x{count}" for status, count in sorted(seen.items())),
            "longest_round_s": max(report["seconds"] for report in record["rounds"])}


def accuracy_table(rows: list[dict[str, Any]]) -> str:
    """Aggregators as rows, attacks as columns: test accuracy (`failed` when the job failed)."""
    by_case: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_case.setdefault(row["case"], {})[row["attack"]] = row
    attacks = [attack for attack in ATTACKS if any(row["attack"] == attack for row in rows)]
    lines = ["| aggregator | " + " | ".join(attacks) + " |",
             "|---|" + "---:|" * len(attacks)]
    for case, cells in by_case.items():
        values = [cells[a]["accuracy"] for a in attacks if a in cells]
        shown = ["failed" if v is None else f"{v:.3f}" for v in values]
        lines.append(f"| {case} | " + " | ".join(shown) + " |")
    lines += ["", "What the round reports said of the attacker (all rounds):", "",
              "| aggregator | attack | attacker | longest round s |", "|---|---|---|---:|"]
    for row in rows:
        if row["attack"] != "none":
            longest = row["longest_round_s"]
            lines.append(f"| {row['case']} | {row['attack']} | {row['attacker']} | "
                         + ("" if longest is None else f"{longest:.2f}") + " |")
    return "\n".join(lines)


def round_cost(home: Path, count: int, rounds: int, repeats: int,
               model: str) -> dict[str, Any]:
    """Steady round time (median of rounds 2..R) of `update_clip` "auto" against null,
    alternated A B B A ... on one grid."""
    spec = common.model_spec(model)
    order = [("auto", "off") if rep % 2 == 0 else ("off", "auto") for rep in range(repeats)]
    runs = {f"{mode}-{rep}": {**base_run(rounds), "algorithm": "FedAvg",
                              "update_clip": "auto" if mode == "auto" else None}
            for rep, modes in enumerate(order) for mode in modes}
    times: dict[str, list[float]] = {"auto": [], "off": []}
    with NodeProcesses(home / "logs") as processes:
        workers, ttp = start_grid(processes, home, count)
        with Driver(host=LOOPBACK, port=ttp.port, token=ttp.token, timeout=600) as driver:
            connect(driver, workers, {}, spec, runs)
            for run_id in runs:
                print(f"timing {model} {run_id} ...", file=sys.stderr, flush=True)
                driver.models.create(project_id="bench", expt_id="model", run_id=run_id,
                                     progress=False, timeout=900)
                record = driver.models.read("bench", "model", run_id)["data"][0]
                times[run_id.split("-")[0]] += [r["seconds"] for r in record["rounds"][1:]]
    return {"model": model, "rounds": len(times["auto"]),
            **{mode: statistics.median(values) for mode, values in times.items()}}


def check_cost(model: str, threads: int, repeats: int = 50) -> dict[str, Any]:
    """Milliseconds per reply of `check_reply` and of the update norm, in-process."""
    torch.set_num_threads(threads)
    global_state = build_model(common.model_spec(model), seed=1).state_dict()
    reply = {name: tensor + 0.01 for name, tensor in global_state.items()}
    header = {"n_samples": 10, "loss": 0.5}
    started = time.perf_counter()
    for _ in range(repeats):
        check_reply("w", reply, header, global_state, 100)
    checks = (time.perf_counter() - started) / repeats
    started = time.perf_counter()
    for _ in range(repeats):
        update_norm(reply, global_state)
    norms = (time.perf_counter() - started) / repeats
    return {"model": model, "threads": threads,
            "parameters": common.count_parameters(common.build_model(model)),
            "check_ms": 1000 * checks, "norm_ms": 1000 * norms}


def cost_table(costs: list[dict[str, Any]], count: int, per_reply: list[dict[str, Any]]) -> str:
    """The A/B round times and the in-process per-reply costs."""
    lines = [f"| model | N | rounds timed (each) | update_clip null s/round | update_clip auto "
             f"s/round | cost | target (<= {COST_TARGET:.0%}) |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for cost in costs:
        ratio = cost["auto"] / cost["off"] - 1
        verdict = "met" if ratio <= COST_TARGET else "NOT met"
        lines.append(f"| {cost['model']} | {count} | {cost['rounds']} | {cost['off']:.4f} | "
                     f"{cost['auto']:.4f} | {ratio:+.1%} | {verdict} |")
    lines += ["", "| model | parameters | torch threads | check_reply ms/reply | "
              "update norm ms/reply |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {row['model']} | {row['parameters']:,} | {row['threads']} | "
              f"{row['check_ms']:.3f} | {row['norm_ms']:.3f} |" for row in per_reply]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, run both parts, print (and optionally write) the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cost-clients", type=int, default=8)
    parser.add_argument("--cost-rounds", type=int, default=10)
    parser.add_argument("--cost-repeats", type=int, default=4)
    parser.add_argument("--cost-models", nargs="+", default=["logreg", "mlp1m"])
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--attacks", nargs="+", choices=ATTACKS, default=list(ATTACKS))
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    body = []
    if not args.skip_accuracy:
        with tempfile.TemporaryDirectory(prefix="synergos-untrusted-") as home:
            body.append(accuracy_table(accuracy_under_attack(Path(home), args.rounds,
                                                             args.cases, args.attacks)))
    if not args.skip_cost:
        costs = []
        for model in args.cost_models:
            with tempfile.TemporaryDirectory(prefix="synergos-untrusted-cost-") as home:
                costs.append(round_cost(Path(home), args.cost_clients, args.cost_rounds,
                                        args.cost_repeats, model))
        per_reply = [check_cost(model, threads) for model in args.cost_models
                     for threads in (1, 2)]
        body.append(cost_table(costs, args.cost_clients, per_reply))
    publish("Training under a malicious Worker", "bench.untrusted_updates", argv,
            "\n\n".join(body), args.markdown)


if __name__ == "__main__":
    main()
