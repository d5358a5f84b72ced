"""Synergos over emulated wide-area links: each Worker behind its own link (rate, one-way
delay, bounded queue), the TTP in the hub namespace (`tests/support/wide_area`).

Run from the repository root, as root: `.venv/bin/python -m bench.wide_area [--clients 4]
[--rounds 5] [--rate-mbit 100] [--rtt-ms 50] [--cases logreg:none mlp1m:none mlp10m:none
mlp10m:int8] [--markdown out.md]`.

Task: `bench/common.py`'s models on breast_cancer, FedAvg, one local SGD step of batch 32
per round (each Worker holds 32 rows), so the exchange dominates a round. Per case, on a
fresh network: first raw TCP through the same links (one kept-alive connection per Worker;
every Worker at once receives the bytes of the weights in the case's `update_compression`
and answers with as many: the reference that includes what the links and the forwarder
cost), then a fresh grid trains.

Columns: bytes per Worker per round as IP bytes through its link (headers and
retransmissions included) each way; data-port requests and new TCP connections per Worker
per round (counted in the link process); packets its queue dropped per round; `round s`:
median start-to-start time of rounds 2..R; `exchange s`: median time the TTP spent in a
round's exchange (send, Worker step, reply, aggregation);
`floor` = the float32 weights' bytes down and up at the link rate + 1 RTT.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import common
from bench.report import publish
from bench.synergos_grid import (
    DATASET,
    EXPERIMENT,
    PROJECT,
    RUN,
    _epoch,
    run_fields,
    write_partitions,
)
from synergos import Driver
from tests.support.wide_area.grid import WideAreaGrid
from tests.support.wide_area.network import LinkShape, WideAreaNetwork
from tests.support.wide_area.probe import ProbeSession

DEFAULT_CASES = ("logreg:none", "mlp1m:none", "mlp10m:none", "mlp10m:int8")
TARGETS = {"round_over_floor": 1.2, "lr_round_over_rtt": 1.2, "int8_over_float32_floor": 0.35}
RAW_ROUNDS = 3
BYTES_PER_PARAMETER = {"none": 4, "float16": 2, "int8": 1}  # what a steady round sends


def congestion_control() -> str:
    """The kernel's TCP congestion control (new namespaces start with it)."""
    return Path("/proc/sys/net/ipv4/tcp_congestion_control").read_text().strip()


def float32_bytes(model: str) -> int:
    """Bytes of the model's weights in float32."""
    return 4 * common.count_parameters(common.build_model(model))


def raw_reference(network: WideAreaNetwork, payload: int) -> dict[str, float]:
    """RTT and the median of `RAW_ROUNDS` raw TCP exchanges of `payload` bytes each way."""
    probe = ProbeSession(network)
    try:
        rtt = statistics.median(probe.rtt(site, samples=10) for site in network.sites)
        rounds = [probe.round(payload, payload) for _ in range(RAW_ROUNDS)]
    finally:
        probe.close()
    return {"rtt_s": rtt, "raw_round_s": statistics.median(rounds)}


def link_check(home: Path, shape: LinkShape, payload: int = 40_000_000) -> str:
    """The harness on one link: measured RTT and the rate of one `payload`-byte TCP transfer
    (application bytes, and IP bytes through the link) against what was set."""
    with WideAreaNetwork(home / "check", ["w0"], shape) as network:
        probe = ProbeSession(network)
        try:
            rtt = probe.rtt("w0")
            before = network.link_counts()["w0"]["a_to_b"]["bytes"]
            seconds = probe.exchange("w0", payload, 1)
            wire = network.link_counts()["w0"]["a_to_b"]["bytes"] - before
        finally:
            probe.close()
    goodput, ip_rate = payload * 8 / seconds, wire * 8 / seconds
    return "\n".join([
        "| check | set | measured | measured / set |", "|---|---:|---:|---:|",
        f"| RTT ms (median of 20) | {shape.rtt_s * 1000:g} | {rtt * 1000:.1f} "
        f"| {rtt / shape.rtt_s:.2f} |",
        f"| TCP, {payload / 1e6:g} MB one way: payload Mbit/s | {shape.rate_bps / 1e6:g} "
        f"| {goodput / 1e6:.1f} | {goodput / shape.rate_bps:.2f} |",
        f"| same transfer, IP bytes through the link: Mbit/s | {shape.rate_bps / 1e6:g} "
        f"| {ip_rate / 1e6:.1f} | {ip_rate / shape.rate_bps:.2f} |"])


def train(grid: WideAreaGrid, network: WideAreaNetwork, model: str, mode: str,
          rounds: int) -> dict[str, Any]:
    """Register, align and train; link counts over the training and the round records."""
    with grid.driver(timeout=1200) as driver:
        _register(driver, grid, network.sites, model,
                  {**run_fields(rounds, common.BATCH_SIZE), "update_compression": mode})
        driver.alignments.create(project_id=PROJECT, progress=False, timeout=1200)
        before = network.link_counts()
        job = driver.models.create(project_id=PROJECT, wait=False)["data"]
        ended = driver.jobs.wait(job["job_id"], timeout=3600, progress=False)["data"]
        after = network.link_counts()
        if ended["status"] != "succeeded":
            raise RuntimeError(f"the training ended {ended['status']}: {ended.get('error')}")
        record = driver.models.read(PROJECT, EXPERIMENT, RUN)["data"][0]
    return {"before": before, "after": after, "rounds": record["rounds"]}


def _register(driver: Driver, grid: WideAreaGrid, sites: list[str], model: str,
              run: dict[str, Any]) -> None:
    driver.projects.create(project_id=PROJECT, action="classify", incentives={})
    driver.experiments.create(project_id=PROJECT, expt_id=EXPERIMENT,
                              model=common.model_spec(model))
    driver.runs.create(project_id=PROJECT, expt_id=EXPERIMENT, run_id=RUN, **run)
    for site in sites:
        driver.participants.create(participant_id=site, **grid.participant(site))
        driver.registrations.create(project_id=PROJECT, participant_id=site, role="host")
        driver.tags.create(project_id=PROJECT, participant_id=site, train=[[DATASET, "train"]])


def per_worker_round(training: dict[str, Any], sites: list[str], direction: str,
                     key: str) -> Any:
    """Mean over Workers of a link count's growth during the training, per round."""
    done = len(training["rounds"])
    if key == "requests":
        verbs: dict[str, float] = {}
        for site in sites:
            grown = training["after"][site][direction]["requests"]
            earlier = training["before"][site][direction]["requests"]
            for verb, count in grown.items():
                verbs[verb] = verbs.get(verb, 0) + (count - earlier.get(verb, 0)) / done
        return {verb: count / len(sites) for verb, count in verbs.items() if count}
    return statistics.mean(training["after"][site][direction][key]
                           - training["before"][site][direction][key] for site in sites) / done


def measure(model: str, mode: str, args: argparse.Namespace, home: Path) -> dict[str, Any]:
    """One case on a fresh network: the raw TCP reference, then Synergos."""
    shape = LinkShape(args.rate_mbit * 1e6, args.rtt_ms / 1000)
    sites = [f"w{index}" for index in range(args.clients)]
    payload = float32_bytes(model)
    sysctls = dict(setting.split("=", 1) for setting in args.sysctl)
    with WideAreaNetwork(home / "network", sites, shape, sysctls=sysctls) as network:
        reference = raw_reference(network, payload // 4 * BYTES_PER_PARAMETER[mode])
        folders = write_partitions(home / "data", args.clients, max_rows=common.BATCH_SIZE)
        grid = WideAreaGrid(network, home / "grid", tls=False)
        grid.start(dict(zip(sites, folders, strict=True)), worker_args=("--cpus", "1"))
        training = train(grid, network, model, mode, args.rounds)
        cpu = {site: counts["cpu_s"] for site, counts in network.link_counts().items()}
    reports = training["rounds"]
    starts = [_epoch(report["started_at"]) for report in reports]
    spans = [later - earlier for earlier, later in itertools.pairwise(starts)]
    floor = 2 * payload * 8 / shape.rate_bps + shape.rtt_s
    return {
        "model": model, "mode": mode, "parameters": payload // 4, "rounds": len(reports),
        "down_bytes": per_worker_round(training, sites, "a_to_b", "bytes"),
        "up_bytes": per_worker_round(training, sites, "b_to_a", "bytes"),
        "requests": per_worker_round(training, sites, "a_to_b", "requests"),
        "connections": per_worker_round(training, sites, "a_to_b", "connections"),
        "dropped": per_worker_round(training, sites, "a_to_b", "dropped")
        + per_worker_round(training, sites, "b_to_a", "dropped"),
        "round_s": statistics.median(spans[1:] or spans),
        "exchange_s": statistics.median(report["seconds"] for report in reports[1:]),
        "floor_s": floor, **reference, "link_cpu_s": statistics.mean(cpu.values()),
    }


def markdown_table(results: list[dict[str, Any]], shape: str) -> str:
    """One row per case, then the targets."""
    lines = [f"Links: {shape}.", "",
             "| model (params) | update_compression | TTP→Worker MB/round | Worker→TTP MB/round "
             "| requests/round/Worker | new connections/round/Worker | drops/round/Worker "
             "| round s | exchange s | floor s | raw TCP s | round / floor | raw TCP / floor "
             "| round / raw TCP |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in results:
        requests = ", ".join(f"{verb} {count:g}" for verb, count in sorted(row["requests"].items()))
        lines.append(
            f"| {row['model']} ({row['parameters']:,}) | {row['mode']} "
            f"| {row['down_bytes'] / 1e6:.3f} | {row['up_bytes'] / 1e6:.3f} | {requests} "
            f"| {row['connections']:g} | {row['dropped']:.0f} | {row['round_s']:.3f} "
            f"| {row['exchange_s']:.3f} "
            f"| {row['floor_s']:.3f} | {row['raw_round_s']:.3f} "
            f"| {row['round_s'] / row['floor_s']:.2f} | {row['raw_round_s'] / row['floor_s']:.2f} "
            f"| {row['round_s'] / row['raw_round_s']:.2f} |")
    lines += ["", *verdicts(results)]
    return "\n".join(lines)


def verdicts(results: list[dict[str, Any]]) -> list[str]:
    """Each target met or missed, with the measured ratio."""
    found = []
    for row in results:
        ratio = row["round_s"] / row["floor_s"]
        if row["model"] == "logreg" and row["mode"] == "none":
            found.append(_verdict(f"LR round / RTT ({row['rtt_s'] * 1000:.1f} ms)",
                                  row["round_s"] / row["rtt_s"], TARGETS["lr_round_over_rtt"]))
        elif row["mode"] == "none":
            found.append(_verdict(f"{row['model']} round / floor", ratio,
                                  TARGETS["round_over_floor"]))
        elif row["mode"] == "int8" and row["model"] == "mlp10m":
            found.append(_verdict("mlp10m int8 round / float32 floor", ratio,
                                  TARGETS["int8_over_float32_floor"]))
    return found


def _verdict(what: str, ratio: float, target: float) -> str:
    return f"- {what}: {ratio:.2f} (target ≤ {target}: {'met' if ratio <= target else 'MISSED'})"


def main(argv: list[str] | None = None) -> int:
    """Measure every case and print the table (optionally into a markdown file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate-mbit", type=float, default=100.0)
    parser.add_argument("--rtt-ms", type=float, default=50.0)
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES),
                        help="model:update_compression pairs")
    parser.add_argument("--sysctl", nargs="*", default=[], metavar="KEY=VALUE",
                        help="kernel settings in every namespace, e.g. "
                             "net.ipv4.tcp_slow_start_after_idle=0")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (round 1 is warm-up)")
    with tempfile.TemporaryDirectory(prefix="synergos-wan-check-") as home:
        check = link_check(Path(home), LinkShape(args.rate_mbit * 1e6, args.rtt_ms / 1000))
    results = []
    for case in args.cases:
        model, _, mode = case.partition(":")
        print(f"{model} {mode or 'none'} ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix=f"synergos-wan-{model}-") as home:
            results.append(measure(model, mode or "none", args, Path(home)))
    shape = (f"{args.clients} Workers, {args.rate_mbit:g} Mbit/s and {args.rtt_ms:g} ms RTT "
             "each, drop-tail queue of one bandwidth-delay product; kernel settings: "
             f"{', '.join(args.sysctl) or 'defaults'} ({congestion_control()} congestion control)")
    publish("Synergos over wide-area links", "bench.wide_area", argv,
            f"Harness check, one link:\n\n{check}\n\n{markdown_table(results, shape)}",
            args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
