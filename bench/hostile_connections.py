"""How long `/health` takes while a peer holds idle or dribbling connections on a port.

Run from the repository root: `.venv/bin/python -m bench.hostile_connections
[--counts 16 64 256 1000] [--markdown out.md]`.

Ports measured: a real Worker's command port (uvicorn + a2wsgi) and data port
(`BinaryPortServer`), a real TTP's REST port (uvicorn + a2wsgi), and, as the alternative,
the same synrest app served by hypercorn's WSGI mode (needs `hypercorn` installed; the
row is left out without it). For each port and each count N,
N connections from 127.0.0.2 either send nothing (`silent`) or one byte of a request head
(`dribble`); then five `/health` calls from 127.0.0.1 are timed (a call over 5 s counts as
stalled). The table gives the median and the slowest call.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.report import publish
from synergos_testing.local_processes import LOOPBACK, NodeProcesses, free_port

ATTACKER = "127.0.0.2"
PROBES = 5
PROBE_TIMEOUT = 5.0


def hold(port: int, count: int, dribble: bool) -> list[socket.socket]:
    """`count` connections from `ATTACKER` to `port`, each silent or with one byte sent."""
    held = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((ATTACKER, 0))
            sock.connect((LOOPBACK, port))
            if dribble:
                sock.sendall(b"G")
        except OSError:
            sock.close()
            continue
        held.append(sock)
    return held


def probe(url: str) -> list[float]:
    """Seconds each of `PROBES` fresh `/health` calls took (`PROBE_TIMEOUT` when stalled)."""
    took = []
    for _ in range(PROBES):
        started = time.monotonic()
        try:
            requests.get(url + "/health", timeout=PROBE_TIMEOUT,
                         headers={"Connection": "close"})
            took.append(time.monotonic() - started)
        except requests.RequestException:
            took.append(PROBE_TIMEOUT)
    return took


def cell(took: list[float]) -> str:
    """`median / slowest` in ms, or `stalled` when a call timed out."""
    if max(took) >= PROBE_TIMEOUT:
        return f"stalled ({sum(t >= PROBE_TIMEOUT for t in took)}/{len(took)})"
    return f"{statistics.median(took) * 1000:.0f} / {max(took) * 1000:.0f} ms"


def measure(ports: dict[str, str], counts: list[int]) -> str:
    """The markdown table for every port, pattern and count."""
    header = "| port | pattern | " + " | ".join(f"N = {n}" for n in counts) + " |"
    lines = [header, "|" + "---|" * (len(counts) + 2)]
    for name, url in ports.items():
        port = int(url.rsplit(":", 1)[1])
        for pattern in ("silent", "dribble"):
            cells = []
            for count in counts:
                held = hold(port, count, pattern == "dribble")
                time.sleep(0.5)  # let the server take the connections in
                cells.append(cell(probe(url)))
                for sock in held:
                    sock.close()
                time.sleep(1.0)  # let the server notice the closes
            lines.append(f"| {name} | {pattern} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    return "\n".join(lines)


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    """Poll `url`'s `/health` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url + "/health", timeout=1).ok:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} never became healthy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[16, 64, 256, 1000])
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch, NodeProcesses(Path(scratch)) as nodes:
        home = Path(scratch)
        worker = nodes.start_worker("worker", home / "w", home / "w-out")
        ttp = nodes.start_ttp("ttp", home / "t", home / "t-out")
        candidate_port = free_port()
        ports = {
            "Worker command port (uvicorn + a2wsgi)": worker.base_url,
            "Worker data port (BinaryPortServer)": f"http://{LOOPBACK}:{worker.data_port}",
            "TTP REST port (uvicorn + a2wsgi)": ttp.base_url,
        }
        candidate = None
        if importlib.util.find_spec("hypercorn") is not None:
            candidate = subprocess.Popen([sys.executable, "-m", "bench.hypercorn_candidate",
                                          str(candidate_port)])
            ports["alternative: hypercorn (WSGI mode)"] = f"http://{LOOPBACK}:{candidate_port}"
        try:
            nodes.wait_healthy()
            for url in ports.values():
                wait_healthy(url)
            table = measure(ports, args.counts)
        finally:
            if candidate is not None:
                candidate.terminate()
                candidate.wait(timeout=15)
    body = ("`/health` while a peer holds N connections (median / slowest of 5 calls; "
            f"stalled: a call over {PROBE_TIMEOUT:.0f} s)\n\n{table}")
    publish("## Hostile connections against /health", "bench.hostile_connections", argv,
            body, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
