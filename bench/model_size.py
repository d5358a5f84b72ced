"""Round cost of large models: Synergos's per-round breakdown beside memcpy and Flower 1.41.

Run from the repository root: `.venv/bin/python -m bench.model_size [--models mlp1m mlp25m]
[--rounds 5] [--markdown out.md]`.

Task: `bench/common.py`'s MLPs (about 1 M and 25 M parameters) on breast_cancer, 4 clients,
one local SGD step of batch 32 per round (each Synergos Worker holds 32 rows; Flower stops after
one batch). Synergos runs a TTP and 4 Workers as processes over loopback HTTP.

Columns: the end-to-end steady round of each system; Synergos's parts measured in this
process on the same weights (encode and decode with `synalgo.codec`, one local step, the
weighted-mean aggregation of 4 updates); `transfer + rest` = what the round spends beyond
those parts (HTTP, threads, bookkeeping); the physical reference is copying the weights 2N
times in memory (N sends + N replies). Overhead beyond the local step = round - the local
steps' CPU time on this machine's cores (N steps / cores x one step). Target for 25 M: that
overhead <= 3x the 2N memcpy.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from bench import common
from bench.flower_baseline import run_flower_baseline
from bench.report import publish
from bench.synergos_grid import run_synergos
from synalgo.aggregation import WeightedMeanAccumulator
from synalgo.codec import decode, encode

CLIENTS = common.MODEL_SIZE_CLIENTS
OVERHEAD_TARGET = 3.0


def best_of(function: Callable[[], Any], repeats: int = 5) -> float:
    """The fastest of `repeats` timed calls, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def measure_parts(model_name: str) -> dict[str, float]:
    """Encode, decode, one local step, aggregation of N updates and memcpy, in seconds."""
    model = common.build_model(model_name)
    state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    n_bytes = sum(tensor.numel() * tensor.element_size() for tensor in state.values())
    blob = encode(state, {"round": 1})
    features, labels = common.client_data(0, CLIENTS)
    flat = torch.cat([tensor.reshape(-1) for tensor in state.values()])
    target = torch.empty_like(flat)

    def aggregate() -> None:
        accumulator = WeightedMeanAccumulator()
        for _ in range(CLIENTS):
            accumulator.add(state, 32)
        accumulator.result(state)

    return {
        "bytes": float(n_bytes),
        "encode_s": best_of(lambda: encode(state, {"round": 1})),
        "decode_s": best_of(lambda: decode(blob)),
        "local_step_s": best_of(lambda: common.train_locally(
            model, features[:common.BATCH_SIZE], labels[:common.BATCH_SIZE], max_steps=1)),
        "aggregate_s": best_of(aggregate, repeats=3),
        "memcpy_s": best_of(lambda: target.copy_(flat)),
    }


def measure(model_name: str, rounds: int) -> dict[str, Any]:
    """Both systems end to end plus the Synergos parts for one model."""
    parts = measure_parts(model_name)
    with tempfile.TemporaryDirectory(prefix=f"synergos-{model_name}-") as home:
        print(f"synergos {model_name} ...", file=sys.stderr, flush=True)
        synergos = run_synergos(CLIENTS, Path(home), model=model_name, rounds=rounds,
                                max_rows=common.BATCH_SIZE)
    print(f"flower {model_name} ...", file=sys.stderr, flush=True)
    flower = run_flower_baseline(CLIENTS, "legacy", model=model_name, rounds=rounds,
                                 local_steps=common.MODEL_SIZE_LOCAL_STEPS, timeout_s=900)
    return {"model": model_name, "parameters": synergos["parameters"], "parts": parts,
            "synergos_round_s": synergos["steady_round_s"],
            "synergos_worker_call_s": statistics.median(
                max(entry["seconds"] for entry in report["participants"].values())
                for report in synergos["rounds_detail"][1:]),
            "flower_round_s": flower["steady_round_s"]}


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per model."""
    cores = os.cpu_count() or 1
    lines = ["| model | params | MiB | Synergos round s | Flower round s | encode s | decode s "
             "| local step s | aggregate (4) s | transfer + rest s | 2N memcpy s "
             "| overhead beyond step s | overhead / 2N memcpy | effective MB/s | target |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for result in results:
        parts = result["parts"]
        round_s = result["synergos_round_s"]
        steps_s = parts["local_step_s"] * math.ceil(CLIENTS / cores)
        # per round: the TTP encodes once, each Worker decodes, steps and encodes, the TTP
        # decodes N replies and aggregates; the Workers' parts run on `cores` cores at once
        worker_parts = (parts["decode_s"] + parts["encode_s"]) * math.ceil(CLIENTS / cores)
        known = parts["encode_s"] + worker_parts + steps_s + CLIENTS * parts["decode_s"] \
            + parts["aggregate_s"]
        memcpy = 2 * CLIENTS * parts["memcpy_s"]
        overhead = round_s - steps_s
        moved = 2 * CLIENTS * parts["bytes"]
        ratio = overhead / memcpy
        verdict = ""
        if result["model"] == "mlp25m":
            met = 'met' if ratio <= OVERHEAD_TARGET else 'MISSED'
            verdict = f"<= {OVERHEAD_TARGET:.0f}x: {met}"
        lines.append(
            f"| {result['model']} | {result['parameters']:,} | {parts['bytes'] / 2**20:.1f} | "
            f"{round_s:.3f} | {result['flower_round_s']:.3f} | {parts['encode_s']:.4f} | "
            f"{parts['decode_s']:.4f} | {parts['local_step_s']:.4f} | "
            f"{parts['aggregate_s']:.4f} | {max(round_s - known, 0.0):.4f} | {memcpy:.4f} | "
            f"{overhead:.3f} | {ratio:.1f}x | {moved / max(overhead, 1e-9) / 1e6:,.0f} | "
            f"{verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table (and write it with `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(common.MLP_TARGET_PARAMETERS),
                        default=list(common.MODEL_SIZE_MODELS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (round 1 is warm-up)")
    results = [measure(name, args.rounds) for name in args.models]
    publish(f"Large models, {CLIENTS} clients, 1 local step, {os.cpu_count()} cores",
            "bench.model_size", argv, markdown_table(results), args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
