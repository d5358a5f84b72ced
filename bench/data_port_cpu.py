"""CPU per data-port call, this tree's server and client against another commit's, in one run.

Run from the repository root: `.venv/bin/python -m bench.data_port_cpu [--baseline 47e4e0a]
[--servers 8] [--rounds 300] [--kib 2] [--turns 2] [--markdown out.md]`.

Each side starts `servers` echo data ports (`BinaryPortServer`, a handler that returns the
body) as processes and sends `rounds` rounds of one POST to each through `DataPortPool`
from a thread pool, as the TTP's round does. The baseline commit is checked out into a
temporary `git worktree`; each side runs in a fresh interpreter whose `PYTHONPATH` is its
tree, in turns. The table gives the median round, the client's CPU per call and the
servers' CPU per call (user + system, from `psutil`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.report import publish

REPOSITORY = Path(__file__).resolve().parents[1]
_SERVER = """
from synrest.binary_app import BinaryPortApp, BinaryResponse
from synrest.binary_server import BinaryPortServer
try:
    from synrest.node_config import NodeConfig
except ImportError:  # older trees
    from synrest.cli import NodeConfig
app = BinaryPortApp(NodeConfig(role="worker", node_id="bench"), "bench-token", 64 << 20)
app.add_route("/data/<name>/echo", "data.echo",
              lambda call: BinaryResponse(200, bytes(call.body)))
server = BinaryPortServer(app, "127.0.0.1", 0)
server.prepare()
print(server.bind_addr[1], flush=True)
server.serve()
"""
_CLIENT = """
import json, statistics, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
import psutil
from synergos_ttp.engine.data_connection import DataPortPool
servers, rounds, size = (int(arg) for arg in sys.argv[1:4])
processes = [subprocess.Popen([sys.executable, "-c", sys.argv[4]], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for _ in range(servers)]
try:
    pools = [DataPortPool("127.0.0.1", int(process.stdout.readline()), "bench-token", 5)
             for process in processes]
    body = bytes(range(256)) * (size // 256)
    def call(index):
        reply = pools[index].post("/data/x/echo", body, timeout=30)
        try:
            assert len(reply.read_whole(time.monotonic() + 30, len(body))) == len(body)
        finally:
            reply.close()
    executor = ThreadPoolExecutor(2 * servers)
    for _ in range(20):
        list(executor.map(call, range(servers)))
    handles = [psutil.Process(process.pid) for process in processes]
    def server_cpu():
        return sum(sum(handle.cpu_times()[:2]) for handle in handles)
    server_before, client_before, times = server_cpu(), time.process_time(), []
    for _ in range(rounds):
        started = time.perf_counter()
        list(executor.map(call, range(servers)))
        times.append(time.perf_counter() - started)
    calls = rounds * servers
    print("RESULT " + json.dumps({
        "round_ms": statistics.median(times) * 1000,
        "client_ms": (time.process_time() - client_before) / calls * 1000,
        "server_ms": (server_cpu() - server_before) / calls * 1000}))
finally:
    for process in processes:
        process.kill()
"""


def run_once(tree: Path, servers: int, rounds: int, size: int) -> dict[str, Any]:
    """One measurement on the code of `tree`, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", _CLIENT, str(servers), str(rounds), str(size),
                           _SERVER], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the run on {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main(argv: list[str] | None = None) -> int:
    """Measure both trees in turns and print the table (and write it to `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="47e4e0a")
    parser.add_argument("--servers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--kib", type=int, default=2)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = ["| turn | side | round ms (median) | client CPU ms/call | servers' CPU ms/call |",
            "|---:|---|---:|---:|---:|"]
    with tempfile.TemporaryDirectory(prefix="data-port-cpu-") as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "add", "--detach",
                        str(tree), args.baseline], check=True, capture_output=True)
        try:
            for turn in range(1, args.turns + 1):
                for side, root in (("this tree", REPOSITORY), (args.baseline, tree)):
                    result = run_once(root, args.servers, args.rounds, args.kib * 1024)
                    rows.append(f"| {turn} | {side} | {result['round_ms']:.2f} | "
                                f"{result['client_ms']:.3f} | {result['server_ms']:.3f} |")
                    print(rows[-1], file=sys.stderr, flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "remove", "--force",
                            str(tree)], check=False, capture_output=True)
    publish(f"CPU per data-port call, {args.servers} echo ports, {args.kib} KiB bodies",
            "bench.data_port_cpu", argv, "\n".join(rows), args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
