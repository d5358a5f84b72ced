"""Where a Synergos round's time goes on loopback, per phase, for `bench/round_overhead.py
--phases`.

One local grid per case (`model:update_compression`, N Workers, the task of `bench/common.py`):
the round records give each round's start, its exchange (first request sent -> last reply
folded and aggregated) and each Worker's reply time; the Workers' `run terminated` log lines
give the time their fit handlers spent training and compressing; the processes' CPU seconds
over the training job (psutil), divided by the rounds, give what each round costs each node.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from bench import common
from bench.synergos_grid import run_synergos


def case_names(cases: list[str]) -> list[tuple[str, str]]:
    """`model:update_compression` strings as pairs (compression `none` when left out)."""
    pairs = []
    for case in cases:
        model, _, mode = case.partition(":")
        pairs.append((model, mode or "none"))
    return pairs


def measure_phases(model: str, mode: str, clients: int, rounds: int) -> dict[str, Any]:
    """One training on a fresh grid; the per-round phase times of the TTP and the Workers."""
    probe: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix=f"synergos-phases-{model}-") as home:
        result = run_synergos(clients, Path(home), model, rounds=rounds,
                              extra_run_fields={"update_compression": mode},
                              during_training=lambda workers, ttp: _probe(workers, ttp, probe))
    details = result["rounds_detail"][1:] or result["rounds_detail"]
    spans = result["round_s"][1:] or result["round_s"]
    exchange = [report["seconds"] for report in details]
    replies = [[entry["seconds"] for entry in report["participants"].values()]
               for report in details]
    fitted = probe["fits"]
    return {
        "model": model, "mode": mode, "clients": clients, "rounds": len(result["round_s"]),
        "round_s": statistics.median(spans),
        "exchange_s": statistics.median(exchange),
        "between_s": statistics.median(s - e for s, e in zip(spans, exchange, strict=True)),
        "first_reply_s": statistics.median(min(times) for times in replies),
        "last_reply_s": statistics.median(max(times) for times in replies),
        "worker_fit_s": (sum(seconds for seconds, _ in fitted) / sum(n for _, n in fitted)
                         if fitted else float("nan")),
        "ttp_cpu_s": probe["cpu"]["ttp"] / len(result["round_s"]),
        "worker_cpu_s": statistics.mean(probe["cpu"][name] for name in probe["cpu"]
                                        if name != "ttp") / len(result["round_s"]),
        "test_accuracy": result["test_accuracy"],
    }


@contextmanager
def _probe(workers: list[Any], ttp: Any, found: dict[str, Any]) -> Iterator[None]:
    """CPU seconds of every node over the training job, and the Workers' fit totals."""
    nodes = {"ttp": ttp, **{f"w{index}": node for index, node in enumerate(workers)}}
    processes = {name: psutil.Process(node.process.pid) for name, node in nodes.items()}
    before = {name: _cpu(process) for name, process in processes.items()}
    yield
    found["cpu"] = {name: _cpu(process) - before[name] for name, process in processes.items()}
    found["fits"] = [fit for node in workers if (fit := _fit_totals(node.log_path))]


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _fit_totals(log_path: Path) -> tuple[float, int] | None:
    """`(fit_seconds, fits)` from the Worker's last `run terminated` line."""
    totals = None
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if "run terminated" not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("fits"):
            totals = (float(entry["fit_seconds"]), int(entry["fits"]))
    return totals


def phases_table(results: list[dict[str, Any]]) -> str:
    """One row per case: the phases of a steady round in milliseconds."""
    lines = ["| model (params) | update_compression | N | round ms | exchange ms | between rounds "
             "ms | first reply ms | last reply ms | Worker fit ms | TTP CPU ms/round "
             "| Worker CPU ms/round | test acc |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in results:
        parameters = common.count_parameters(common.build_model(row["model"]))
        lines.append(
            f"| {row['model']} ({parameters:,}) | {row['mode']} | {row['clients']} | "
            + " | ".join(f"{1000 * row[key]:.1f}" for key in (
                "round_s", "exchange_s", "between_s", "first_reply_s", "last_reply_s",
                "worker_fit_s", "ttp_cpu_s", "worker_cpu_s"))
            + f" | {row['test_accuracy']:.4f} |")
    return "\n".join(lines)
