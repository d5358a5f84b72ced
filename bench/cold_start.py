"""Cold start without Docker: seconds from process start to the first 200 on `/health` for
`python -m synergos_ttp | synergos_worker | synergos_director`, the CPU seconds the node used
until then (user + system: on a shared machine a steadier measure than the wall time), and
which heavy libraries each start imports (`python -X importtime`). Prints a Markdown table.

    MLFLOW_DISABLE_TELEMETRY=true python -m bench.cold_start [--repeat 5] [--markdown out.md]

The Director needs RabbitMQ: a private broker is started for it (Debian `rabbitmq-server`).
Every node gets fresh data and outputs folders, so each start is a first start.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

from bench.report import publish
from synergos_testing.local_broker import running_broker
from synergos_testing.local_processes import NodeProcesses, tail

HEALTH_TIMEOUT_S = 120.0
ROLES = ("synergos_worker", "synergos_ttp", "synergos_director")
# Libraries worth a line when a start path imports them (the rest is small).
HEAVY = ("torch", "opacus", "dp_accounting", "mlflow", "optuna", "pandas", "sklearn",
         "scipy", "pyarrow", "sqlalchemy", "pika", "numpy", "flask_restx", "jsonschema")


def time_to_health(home: Path, role: str, amqp_port: int | None) -> tuple[float, float]:
    """Start one node of `role` in fresh folders; (seconds until `/health` answers 200, CPU
    seconds the node used by then)."""
    data, outputs = home / "data", home / "outputs"
    data.mkdir(parents=True)
    with NodeProcesses(home / "logs") as nodes:
        started = time.monotonic()
        if role == "synergos_worker":
            node = nodes.start_worker("node", data, outputs)
        elif role == "synergos_ttp":
            node = nodes.start_ttp("node", data, outputs)
        else:
            assert amqp_port is not None
            node = nodes.start_director("node", data, outputs, amqp_port)
        while time.monotonic() < started + HEALTH_TIMEOUT_S:
            if node.process.poll() is not None:
                raise RuntimeError(f"{role} exited:\n{tail(node.log_path)}")
            try:
                if requests.get(node.base_url + "/health", timeout=1).status_code == 200:
                    elapsed = time.monotonic() - started
                    cpu = psutil.Process(node.process.pid).cpu_times()
                    return elapsed, cpu.user + cpu.system
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"{role} not healthy in {HEALTH_TIMEOUT_S}s:\n{tail(node.log_path)}")


def heavy_imports(role: str) -> dict[str, float]:
    """Library -> cumulative import seconds when `role.__main__` is imported (fresh process)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {role}.__main__"],
                            capture_output=True, text=True, timeout=300, check=True)
    seconds: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, _, cumulative, name = (part.strip() for part in line.replace(":", "|", 1).split("|"))
        if name in HEAVY:
            seconds[name] = max(seconds.get(name, 0.0), int(cumulative) / 1e6)
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cold_start_") as tmp, \
            running_broker(Path(tmp) / "broker") as broker:
        starts: dict[str, list[tuple[float, float]]] = {role: [] for role in ROLES}
        for attempt in range(args.repeat):  # roles interleaved: load changes hit each alike
            for role in ROLES:
                home = Path(tmp) / f"{role}_{attempt}"
                starts[role].append(time_to_health(home, role, broker.amqp_port))
    lines = ["| role | start to /health s (median) | min-max | CPU s until then (median) | "
             "heavy imports on the start path (s, cumulative) |", "|---|---:|---:|---:|---|"]
    for role in ROLES:
        runs = [wall for wall, _ in starts[role]]
        cpu = statistics.median(cpu for _, cpu in starts[role])
        imports = ", ".join(f"{name} {seconds:.2f}" for name, seconds in
                            sorted(heavy_imports(role).items(), key=lambda item: -item[1]))
        lines.append(f"| `python -m {role}` | {statistics.median(runs):.2f} | "
                     f"{min(runs):.2f}-{max(runs):.2f} | {cpu:.2f} | {imports or '-'} |")
    publish("Cold start without Docker", "bench.cold_start", argv, "\n".join(lines),
            args.markdown)


if __name__ == "__main__":
    main()
