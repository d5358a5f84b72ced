"""Bytes on the wire and round trips per Worker per round, by `update_compression`.

Run from the repository root: `.venv/bin/python -m bench.wire_bytes [--clients 4]
[--rounds 3] [--model mlp1m] [--modes none float16 int8] [--markdown out.md]`.

The task of `bench/common.py` (FedAvg, one local epoch) on a fresh local grid per mode: a
TTP and N Workers as processes on 127.0.0.1, client 0 also holding the test split as
`evaluate` data (so every round also measures the global model). Each Worker's data port is
reached through a counting TCP relay in this process, which counts the bytes each way and
the requests (`POST /data/...`), by verb; the table gives them per Worker per round, the
round time, and the test accuracy of the final model.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import re
import socket
import statistics
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from bench import common
from bench.report import publish
from bench.synergos_grid import (
    DATASET,
    EXPERIMENT,
    PROJECT,
    RUN,
    _epoch,
    evaluate_weights,
    run_fields,
    write_partitions,
)
from synergos import Driver
from synergos_datasets.builder import write_tabular_folder
from synergos_testing.local_processes import LOOPBACK, NodeProcesses

REQUEST_LINE = re.compile(rb"POST /data/[^ \r\n]*/(fit|evaluate|predict) HTTP/1\.1\r\n")


class CountingRelay:
    """A TCP relay to one Worker's data port counting bytes each way and request lines."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = 0       # TTP -> Worker
        self.received = 0   # Worker -> TTP
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            worker = socket.create_connection((LOOPBACK, self.target_port))
            threading.Thread(target=self._pump, args=(client, worker, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(worker, client, False),
                             daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        tail = b""
        while True:
            try:
                chunk = source.recv(1 << 20)
                if not chunk:
                    break
                if upstream:
                    window = tail + chunk
                    verbs = [m.group(1).decode() for m in REQUEST_LINE.finditer(window)
                             if m.end() > len(tail)]
                    tail = window[-1024:]
                with self.lock:
                    if upstream:
                        self.sent += len(chunk)
                        self.requests.update(verbs)
                    else:
                        self.received += len(chunk)
                sink.sendall(chunk)
            except OSError:
                break
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def measure(mode: str, n_clients: int, rounds: int, model: str, home: Path) -> dict[str, Any]:
    """One training with `update_compression` = `mode`; bytes and requests per Worker."""
    folders = write_partitions(home / "data", n_clients)
    _, _, x_test, y_test = common.load_task()
    frame = pd.DataFrame(x_test, columns=[f"x{j:02d}" for j in range(x_test.shape[1])])
    frame["target"] = y_test.astype(int)
    write_tabular_folder(folders[0] / DATASET / "evaluate", frame,
                         {name: "float32" for name in frame.columns} | {"target": "int32"})
    spec = common.model_spec(model)
    with NodeProcesses(home / "logs") as processes:
        workers = [processes.start_worker(f"w{i}", folder, home / f"w{i}",
                                          extra_args=("--cpus", "1"))
                   for i, folder in enumerate(folders)]
        ttp = processes.start_ttp("ttp", home / "ttp" / "data", home / "ttp" / "outputs")
        processes.wait_healthy(timeout=600)
        relays = [CountingRelay(node.data_port) for node in workers]
        with Driver(host=LOOPBACK, port=ttp.port, token=ttp.token, timeout=600) as driver:
            run = {**run_fields(rounds, common.BATCH_SIZE), "update_compression": mode}
            _register(driver, workers, relays, spec, run)
            driver.alignments.create(project_id=PROJECT, progress=False, timeout=600)
            job = driver.models.create(project_id=PROJECT, wait=False)["data"]
            driver.jobs.wait(job["job_id"], timeout=3600, progress=False)
            record = driver.models.read(PROJECT, EXPERIMENT, RUN)["data"][0]
        evaluation = evaluate_weights(spec, Path(record["global"]["path"]))
    starts = [_epoch(report["started_at"]) for report in record["rounds"]]
    spans = [later - earlier for earlier, later in itertools.pairwise(starts)]
    done = len(record["rounds"])
    return {
        "mode": mode, "clients": n_clients, "model": model, "rounds": done,
        "parameters": common.count_parameters(common.build_model(model)),
        "sent_per_round": statistics.mean(r.sent for r in relays) / done,
        "received_per_round": statistics.mean(r.received for r in relays) / done,
        "requests_per_round": {f"w{i}": {verb: count / done for verb, count in
                                         sorted(r.requests.items())}
                               for i, r in enumerate(relays)},
        "round_s": statistics.median(spans) if spans else record["rounds"][0]["seconds"],
        "accuracy": evaluation["accuracy"],
    }


def _register(driver: Driver, workers: list[Any], relays: list[CountingRelay],
              spec: list[dict[str, Any]], run: dict[str, Any]) -> None:
    driver.projects.create(project_id=PROJECT, action="classify", incentives={})
    driver.experiments.create(project_id=PROJECT, expt_id=EXPERIMENT, model=spec)
    driver.runs.create(project_id=PROJECT, expt_id=EXPERIMENT, run_id=RUN, **run)
    for index, (node, relay) in enumerate(zip(workers, relays, strict=True)):
        participant_id = f"client_{index}"
        driver.participants.create(participant_id=participant_id, host=LOOPBACK,
                                   port=relay.port, f_port=node.port, token=node.token)
        driver.registrations.create(project_id=PROJECT, participant_id=participant_id,
                                    role="host")
        tags = {"train": [[DATASET, "train"]]}
        if index == 0:
            tags["evaluate"] = [[DATASET, "evaluate"]]
        driver.tags.create(project_id=PROJECT, participant_id=participant_id, **tags)


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per mode; bytes are the mean over the Workers, per round."""
    lines = ["| model (params) | update_compression | TTP→Worker MB/round | Worker→TTP MB/round "
             "| requests/round, Worker with evaluate data | requests/round, others "
             "| round s (median) | test accuracy |",
             "|---|---|---:|---:|---|---|---:|---:|"]
    for row in results:
        requests = row["requests_per_round"]
        first = ", ".join(f"{verb} {count:g}" for verb, count in requests["w0"].items())
        others = sorted({", ".join(f"{verb} {count:g}" for verb, count in value.items())
                         for name, value in requests.items() if name != "w0"})
        lines.append(
            f"| {row['model']} ({row['parameters']:,}) | {row['mode']} "
            f"| {row['sent_per_round'] / 1e6:.3f} | {row['received_per_round'] / 1e6:.3f} "
            f"| {first} | {'; '.join(others)} | {row['round_s']:.3f} | {row['accuracy']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure every mode and print the table (optionally into a markdown file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="mlp1m", choices=common.MODEL_NAMES)
    parser.add_argument("--modes", nargs="+", default=["none", "float16", "int8"])
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    results = []
    for mode in args.modes:
        print(f"{mode}: {args.clients} clients x {args.rounds} rounds ...", file=sys.stderr,
              flush=True)
        with tempfile.TemporaryDirectory(prefix=f"synergos-wire-{mode}-") as home:
            results.append(measure(mode, args.clients, args.rounds, args.model, Path(home)))
    publish("Bytes on the wire and round trips per Worker per round", "bench.wire_bytes", argv,
            markdown_table(results), args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
