"""The TTP's data-port client: h11 on a socket (`DataPortPool`) against urllib3, measured.

Run from the repository root: `.venv/bin/python -m bench.data_port_client [--calls 500]
[--kib 4 400] [--markdown out.md]`.

Two questions decide the client. Deadline: a server answers a head one byte every 0.3 s;
each client is given a 2 s deadline for the call (urllib3: `Timeout(read=2)`, the most it
offers, which bounds each read, not the call): how long until the call gives up? Cost: the
mean wall time of a POST of K KiB echoed back by a real `BinaryPortServer` on loopback, one
keep-alive connection, `calls` calls each, for both clients in turns.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import urllib3

from bench.report import publish
from synergos_ttp.engine.data_connection import DataPortPool
from synrest.binary_app import BinaryPortApp, BinaryResponse
from synrest.binary_server import BinaryPortServer
from synrest.node_config import NodeConfig

TOKEN = "bench-token-0123456789"
DEADLINE = 2.0
TRICKLE_PAUSE = 0.3
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Slow: " + b"a" * 60 + b"\r\n\r\n"


def trickling_server(stop: threading.Event) -> int:
    """A server answering every connection's request with `HEAD`, one byte per pause."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            for byte in HEAD:
                if stop.wait(TRICKLE_PAUSE):
                    return
                try:
                    connection.send(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(connection,), daemon=True).start()
        listener.close()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def gives_up_after(call: Any) -> tuple[float, str]:
    """Seconds until `call()` raised (or returned), and what it raised."""
    started = time.monotonic()
    try:
        call()
        outcome = "answered"
    except Exception as error:  # the point is which one
        outcome = type(error).__name__
    return time.monotonic() - started, outcome


def deadline_rows() -> list[str]:
    stop = threading.Event()
    port = trickling_server(stop)
    try:
        pool = DataPortPool("127.0.0.1", port, None, connect_timeout=2)
        h11_time, h11_outcome = gives_up_after(
            lambda: pool.post("/data/p/e/r/fit", b"x", timeout=DEADLINE))
        http = urllib3.HTTPConnectionPool("127.0.0.1", port, retries=False,
                                          timeout=urllib3.Timeout(connect=2, read=DEADLINE))
        urllib3_time, urllib3_outcome = gives_up_after(
            lambda: http.urlopen("POST", "/data/p/e/r/fit", body=b"x",
                                 preload_content=False))
    finally:
        stop.set()
    return [f"| h11 on a socket (`DataPortPool`) | {h11_time:.1f} | {h11_outcome} |",
            f"| urllib3 `Timeout(read={DEADLINE:g})` | {urllib3_time:.1f} | {urllib3_outcome} |"]


def echo_port() -> BinaryPortServer:
    app = BinaryPortApp(NodeConfig(role="worker", node_id="bench"), TOKEN, 64 << 20)
    app.add_route("/data/<name>/echo", "data.echo",
                  lambda call: BinaryResponse(200, bytes(call.body)))
    server = BinaryPortServer(app, "127.0.0.1", 0)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    return server


def cost_rows(calls: int, sizes_kib: list[int]) -> list[str]:
    server = echo_port()
    port = server.bind_addr[1]
    pool = DataPortPool("127.0.0.1", port, TOKEN, connect_timeout=2)
    http = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False,
                                      timeout=urllib3.Timeout(connect=2, read=30))
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/octet-stream"}

    def with_h11(body: bytes) -> bytes:
        reply = pool.post("/data/x/echo", body, timeout=30)
        try:
            return bytes(reply.read_whole(time.monotonic() + 30, len(body)))
        finally:
            reply.close()

    def with_urllib3(body: bytes) -> bytes:
        response = http.urlopen("POST", "/data/x/echo", body=body, headers=headers,
                                preload_content=False)
        try:
            return response.read()
        finally:
            response.release_conn()

    rows = []
    try:
        for kib in sizes_kib:
            body = bytes(range(256)) * (kib * 4)
            means: dict[str, list[float]] = {"h11": [], "urllib3": []}
            for _ in range(3):  # turns, so that a change of load hits both
                for name, call in (("h11", with_h11), ("urllib3", with_urllib3)):
                    assert call(body) == body
                    started = time.perf_counter()
                    for _ in range(calls):
                        call(body)
                    means[name].append((time.perf_counter() - started) / calls * 1000)
            h11_ms, urllib3_ms = (statistics.median(means[name]) for name in ("h11", "urllib3"))
            rows.append(f"| {kib} | {h11_ms:.3f} | {urllib3_ms:.3f} | "
                        f"{urllib3_ms / h11_ms:.2f} |")
    finally:
        pool.close()
        http.close()
        server.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure both questions and print the tables (and write them to `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--kib", type=int, nargs="+", default=[4, 400])
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    body = "\n".join([
        f"A head trickled one byte every {TRICKLE_PAUSE} s, a {DEADLINE:g} s deadline:", "",
        "| client | gave up after s | raised |", "|---|---:|---|", *deadline_rows(), "",
        "Mean wall time of one echoed POST (median of 3 turns of "
        f"{args.calls} calls):", "",
        "| body KiB | h11 ms | urllib3 ms | urllib3 / h11 |", "|---:|---:|---:|---:|",
        *cost_rows(args.calls, args.kib)])
    publish("The data-port client: h11 on a socket against urllib3", "bench.data_port_client",
            argv, body, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
