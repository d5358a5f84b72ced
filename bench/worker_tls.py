"""What TLS to a Worker costs the TTP's data-port client: plain HTTP against verified HTTPS.

Run from the repository root: `.venv/bin/python -m bench.worker_tls [--calls 200]
[--kib 4 400 4096] [--markdown out.md]`.

A real `BinaryPortServer` on loopback echoes each POST body; the TTP's `DataPortPool` sends
it, plain or over TLS (a certificate from a throw-away CA, verified with hostname as the TTP
does for a Worker registered `secure: true`). Reported: the first call on a new connection
(connect, and for TLS the handshake), and the mean wall time of a call on the kept-alive
connection, per body size, in turns so that a change of load hits both.
"""

from __future__ import annotations

import argparse
import ssl
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.report import publish
from synergos_ttp.engine.data_connection import DataPortPool
from synergos_ttp.engine.worker_client import worker_tls_context
from synrest.binary_app import BinaryPortApp, BinaryResponse
from synrest.binary_server import BinaryPortServer, server_tls_context
from synrest.node_config import NodeConfig
from tests.support.certificates import write_ca, write_signed_cert

TOKEN = "bench-token-0123456789"
FIRST_CALLS = 20


def echo_port(tls: tuple[Path, Path] | None) -> BinaryPortServer:
    """An echo data port on loopback, serving TLS with `tls` (cert, key) when given."""
    app = BinaryPortApp(NodeConfig(role="worker", node_id="bench"), TOKEN, 64 << 20)
    app.add_route("/data/<name>/echo", "data.echo",
                  lambda call: BinaryResponse(200, bytes(call.body)))
    context = server_tls_context(*tls) if tls is not None else None
    server = BinaryPortServer(app, "127.0.0.1", 0, tls_context=context)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    return server


def echo(pool: DataPortPool, body: bytes) -> bytes:
    """One echoed POST, its reply read whole."""
    reply = pool.post("/data/x/echo", body, timeout=30)
    try:
        return bytes(reply.read_whole(time.monotonic() + 30, len(body)))
    finally:
        reply.close()


def first_call_ms(port: int, tls: ssl.SSLContext | None) -> float:
    """The median wall time of a 4 KiB call on a fresh connection."""
    times = []
    for _ in range(FIRST_CALLS):
        pool = DataPortPool("127.0.0.1", port, TOKEN, connect_timeout=5, tls=tls)
        started = time.perf_counter()
        echo(pool, b"x" * 4096)
        times.append((time.perf_counter() - started) * 1000)
        pool.close()
    return statistics.median(times)


def rows(calls: int, sizes_kib: list[int], folder: Path) -> tuple[list[str], list[str]]:
    """(first-call rows, per-size rows)."""
    authority = write_ca(folder / "ca")
    servers = {"plain": echo_port(None),
               "TLS": echo_port(write_signed_cert(folder / "worker", authority))}
    contexts = {"plain": None, "TLS": worker_tls_context(str(authority[0]))}
    ports = {name: server.bind_addr[1] for name, server in servers.items()}
    pools = {name: DataPortPool("127.0.0.1", ports[name], TOKEN, connect_timeout=5,
                                tls=contexts[name]) for name in servers}
    try:
        first = [f"| {name} | {first_call_ms(ports[name], contexts[name]):.2f} |"
                 for name in servers]
        sized = []
        for kib in sizes_kib:
            body = bytes(range(256)) * (kib * 4)
            means: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(3):
                for name, pool in pools.items():
                    assert echo(pool, body) == body
                    started = time.perf_counter()
                    for _ in range(calls):
                        echo(pool, body)
                    means[name].append((time.perf_counter() - started) / calls * 1000)
            plain, tls = (statistics.median(means[name]) for name in ("plain", "TLS"))
            sized.append(f"| {kib} | {plain:.3f} | {tls:.3f} | {tls / plain:.2f} |")
    finally:
        for pool in pools.values():
            pool.close()
        for server in servers.values():
            server.stop()
    return first, sized


def main(argv: list[str] | None = None) -> int:
    """Measure and print the tables (and write them to `--markdown`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--kib", type=int, nargs="+", default=[4, 400, 4096])
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        first, sized = rows(args.calls, args.kib, Path(folder))
    body = "\n".join([
        f"A 4 KiB call on a new connection (median of {FIRST_CALLS}):", "",
        "| transport | ms |", "|---|---:|", *first, "",
        f"Mean wall time of one echoed POST on a kept-alive connection (median of 3 turns of "
        f"{args.calls} calls):", "",
        "| body KiB | plain ms | TLS ms | TLS / plain |", "|---:|---:|---:|---:|", *sized])
    publish("TLS on the data port: plain HTTP against verified HTTPS", "bench.worker_tls",
            argv, body, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
