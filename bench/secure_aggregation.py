"""Secure aggregation's cost: protocol compute and bytes per Worker, and round time on a grid.

Run from the repository root: `.venv/bin/python -m bench.secure_aggregation [--clients 3 8
16] [--models mlp100k mlp1m] [--grid-clients 3 8] [--rounds 4] [--repeats 3]
[--markdown out.md]`.

Protocol table (in this process, one round, `bench/common.py`'s MLPs of about 100 k and 1 M
parameters, each time the fastest of `--repeats`): a Worker's compute over the four stages
(keys, Shamir shares and their encryption, quantising and masking, its unmasking answer),
the TTP's (relaying, rebuilding the seeds, removing the masks), against plain FedAvg's
weighted mean of N float32 updates; and the bytes each Worker sends and receives in the
extra stages as `synalgo.codec` bodies, beside a plain float32 fit reply. Grid table: the
median steady round of the same task on a real TTP and N Worker processes over loopback
HTTP (`bench/synergos_grid.py`), FedAvg with and without `secure_aggregation`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench import common
from bench.report import publish
from bench.synergos_grid import run_synergos
from synalgo.aggregation import WeightedMeanAccumulator
from synalgo.codec import encode
from synalgo.secure_aggregation import SecAggClient, SecAggParams, SecAggServer
from synalgo.secure_aggregation.vectors import vector_length

CONTEXT = b"bench/model/fedavg|round 1"
# the secure round's `stage_seconds` in round order; "rest" is the round less these
GRID_STAGES = ("fit", "share keys", "masked input", "unmasking", "remove masks", "new model")


def _timed(clock: dict[str, float], key: str, function: Any, *args: Any) -> Any:
    started = time.perf_counter()
    result = function(*args)
    clock[key] = clock.get(key, 0.0) + time.perf_counter() - started
    return result


def protocol_round(model_name: str, n_clients: int) -> dict[str, Any]:
    """One in-process round of N clients: compute seconds and bytes per Worker."""
    state = common.build_model(model_name).state_dict()
    length = vector_length(state)
    params = SecAggParams.for_clients(n_clients)
    rng = np.random.default_rng(0)
    deltas = [rng.normal(0, 0.01, length) for _ in range(n_clients)]
    ids = [f"client_{index:02d}" for index in range(n_clients)]
    clients = {pid: SecAggClient(pid, CONTEXT, params) for pid in ids}
    server = SecAggServer(CONTEXT, params, length)
    client_clock: dict[str, float] = {}
    server_clock: dict[str, float] = {}
    sent = dict.fromkeys(ids, 0)
    received = dict.fromkeys(ids, 0)
    for pid, client in clients.items():
        keys = _timed(client_clock, "keys", client.advertise)
        sent[pid] += len(encode({}, {"n_samples": 32, "secure_aggregation": keys}))
        _timed(server_clock, "ttp", server.receive_keys, pid, keys)
    roster = _timed(server_clock, "ttp", server.roster_message)
    for pid, client in clients.items():
        received[pid] += len(encode({}, {"round": 1, **roster}))
        shares = _timed(client_clock, "shares", client.share_keys, roster)
        sent[pid] += len(encode({}, shares))
        _timed(server_clock, "ttp", server.receive_shares, pid, shares)
    for index, (pid, client) in enumerate(clients.items()):
        request = _timed(server_clock, "ttp", server.shares_message, pid)
        received[pid] += len(encode({}, {"round": 1, **request}))
        vector = _timed(client_clock, "masked", client.masked_input, request, deltas[index])
        sent[pid] += len(encode({"masked": torch.from_numpy(vector.view(np.int32))}, {}))
        _timed(server_clock, "ttp", server.receive_masked, pid, vector)
    unmask = _timed(server_clock, "ttp", server.unmask_message)
    for pid, client in clients.items():
        received[pid] += len(encode({}, {"round": 1, **unmask}))
        answer = _timed(client_clock, "unmask", client.unmask, unmask)
        sent[pid] += len(encode({}, answer))
        _timed(server_clock, "ttp", server.receive_unmask, pid, answer)
    _timed(server_clock, "ttp", server.result)
    started = time.perf_counter()
    accumulator = WeightedMeanAccumulator()
    for _ in range(n_clients):
        accumulator.add(state, 32)
    accumulator.result(state)
    plain_aggregate = time.perf_counter() - started
    return {
        "model": model_name, "clients": n_clients, "parameters": length,
        "threshold": params.threshold,
        "worker_s": sum(client_clock.values()) / n_clients,
        "worker_mask_s": client_clock["masked"] / n_clients,
        "ttp_s": server_clock["ttp"], "plain_aggregate_s": plain_aggregate,
        "sent_bytes": max(sent.values()), "received_bytes": max(received.values()),
        "plain_reply_bytes": len(encode(dict(state), {"n_samples": 32, "loss": 0.5})),
    }


def best_of(model_name: str, n_clients: int, repeats: int) -> dict[str, Any]:
    """`protocol_round` repeated: each time the fastest of the repeats (the machine is shared)."""
    runs = [protocol_round(model_name, n_clients) for _ in range(repeats)]
    return {key: (min(run[key] for run in runs) if key.endswith("_s") else value)
            for key, value in runs[0].items()}


def grid_rounds(model_name: str, n_clients: int, rounds: int) -> dict[str, Any]:
    """Median steady round of plain FedAvg and of FedAvg with secure aggregation."""
    result: dict[str, Any] = {"model": model_name, "clients": n_clients}
    for label, extra in (("plain", {}), ("secure", {"secure_aggregation": True})):
        with tempfile.TemporaryDirectory(prefix="synergos-secagg-") as home:
            outcome = run_synergos(n_clients, Path(home), model_name, rounds=rounds,
                                   max_rows=32, extra_run_fields=extra)
        result[f"{label}_round_s"] = outcome["steady_round_s"]
        result[f"{label}_accuracy"] = outcome["test_accuracy"]
        if label == "secure":
            stages = [report["secure_aggregation"]["stage_seconds"]
                      for report in outcome["rounds_detail"][1:]]
            result["stage_s"] = {name: float(np.median([entry[name] for entry in stages]))
                                 for name in stages[0]}
    return result


def protocol_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| model | params | N | t | Worker s (all stages) | of which masking s | TTP s "
             "(unmask) | plain aggregate s | Worker sends B | Worker receives B (extra "
             "stages) | plain fit reply B | masked / plain bytes |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['parameters']:,} | {row['clients']} | {row['threshold']} "
            f"| {row['worker_s']:.3f} | {row['worker_mask_s']:.3f} | {row['ttp_s']:.3f} "
            f"| {row['plain_aggregate_s']:.3f} | {row['sent_bytes']:,} "
            f"| {row['received_bytes']:,} | {row['plain_reply_bytes']:,} "
            f"| {row['sent_bytes'] / row['plain_reply_bytes']:.3f} |")
    return "\n".join(lines)


def grid_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| model | N | plain round s | secure round s | ratio | fit s | share keys s "
             "| masked input s | unmasking s | remove masks s | new model s | rest s "
             "| plain acc | secure acc |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        stage = row["stage_s"]
        timed = " | ".join(f"{stage.get(name, float('nan')):.3f}" for name in GRID_STAGES)
        rest = row["secure_round_s"] - sum(stage.get(name, 0.0) for name in GRID_STAGES)
        lines.append(
            f"| {row['model']} | {row['clients']} | {row['plain_round_s']:.3f} "
            f"| {row['secure_round_s']:.3f} | {row['secure_round_s'] / row['plain_round_s']:.2f}x "
            f"| {timed} | {rest:.3f} | {row['plain_accuracy']:.3f} "
            f"| {row['secure_accuracy']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables (and write them with `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", nargs="+", type=int, default=[3, 8, 16])
    parser.add_argument("--models", nargs="+", default=["mlp100k", "mlp1m"],
                        choices=list(common.MLP_TARGET_PARAMETERS))
    parser.add_argument("--grid-clients", nargs="*", type=int, default=[3, 8])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="protocol rounds per cell")
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    args = parser.parse_args(argv)
    protocol = [best_of(model, n, args.repeats) for model in args.models for n in args.clients]
    body = "Protocol, in one process:\n\n" + protocol_table(protocol)
    if args.grid_clients:
        grid = [grid_rounds(model, n, args.rounds) for model in args.models
                for n in args.grid_clients]
        body += "\n\nReal grid (TTP + N Worker processes, loopback):\n\n" + grid_table(grid)
    publish(f"Secure aggregation, {os.cpu_count()} cores", "bench.secure_aggregation", argv,
            body, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
