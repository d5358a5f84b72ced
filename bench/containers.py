"""Image sizes, layers shared with the TTP image, cold start to `/health` per role, and the
compose cluster from `up` to all healthy.

Needs the images (`make images`) and a Docker Engine in DOCKER_HOST. Each role is started
`--rm` on a throwaway network with its port 5000 published on 127.0.0.1, timed from
`docker run` to the first 200 on `/health`, then removed. Then docker-compose.yml's cluster
profile is brought up (fresh env file and volumes) and timed from `up -d` until every
long-running service is healthy, then taken down with its volumes. Prints Markdown tables.

    DOCKER_HOST=unix:///path/docker.sock python -m bench.containers [--repeat 3] [--compose 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import requests

from tests.deploy.tools import COMPOSE_FILE, REPOSITORY_ROOT, compose_binary, make_env_file

DOCKER = "docker"
IMAGES = ("synergos_worker:latest", "synergos_ttp:synbasic", "synergos_ttp:syncluster",
          "synergos_director:syncluster", "synergos_mq:latest")
SHARED_WITH = "synergos_ttp:syncluster"
# role image -> its arguments for a cold start (the MQ is timed to its management API)
START_ARGS = {
    "synergos_worker:latest": ["--id", "bench_worker", "--insecure"],
    "synergos_ttp:synbasic": ["--id", "bench_ttp", "--insecure"],
    "synergos_director:syncluster": ["--id", "bench_director", "--insecure",
                                     "--queue", "rabbitmq", "bench_mq", "5672"],
}
MQ_PASSWORD = "bench-mq-password-0123456789"
MQ_ENV = ["-e", "SYNERGOS_MQ_USER=synergos", "-e", f"SYNERGOS_MQ_PASSWORD={MQ_PASSWORD}"]
HEALTH_TIMEOUT_S = 180.0
COMPOSE_TIMEOUT_S = 600.0
ONE_SHOT_SERVICES = {"datasets"}  # exits once the example data is written


def docker(*args: str) -> str:
    """Run the docker CLI; return its output (raise with it on failure)."""
    result = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {result.stderr}")
    return result.stdout


def layers(image: str) -> list[str]:
    """The image's layer digests, base first."""
    return json.loads(docker("image", "inspect", image))[0]["RootFS"]["Layers"]


def size_mb(image: str) -> float:
    return json.loads(docker("image", "inspect", image))[0]["Size"] / 1e6


def cold_start(image: str, network: str, name: str = "", port: int = 5000,
               path: str = "/health") -> float:
    """Seconds from `docker run` to the first 200 on `path` (the MQ: its management API)."""
    name = name or f"bench_{uuid.uuid4().hex[:8]}"
    arguments = START_ARGS.get(image, [])
    auth = ("synergos", MQ_PASSWORD) if image.startswith("synergos_mq") else None
    started = time.monotonic()
    docker("run", "-d", "--rm", "--name", name, "--network", network, *MQ_ENV,
           "-p", f"127.0.0.1::{port}", image, *arguments)
    try:
        host_port = docker("port", name, str(port)).split()[0].rpartition(":")[2]
        while time.monotonic() < started + HEALTH_TIMEOUT_S:
            try:
                if requests.get(f"http://127.0.0.1:{host_port}{path}", auth=auth,
                                timeout=1).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{image} not healthy in {HEALTH_TIMEOUT_S}s")
    finally:
        if name != "bench_mq":  # the MQ stays up for the Director
            subprocess.run([DOCKER, "rm", "-f", name], capture_output=True, timeout=60)


def compose_up_to_healthy(profile: str = "cluster") -> dict[str, float]:
    """Seconds from `docker compose up -d` until each service of `profile` was first seen
    healthy (a one-shot service: exited 0), and under "all" until every one was; the project
    is then removed with its volumes."""
    with tempfile.TemporaryDirectory() as home:
        env_file = make_env_file(Path(home) / ".env")
        compose = [str(compose_binary()), "--file", str(COMPOSE_FILE), "--project-directory",
                   str(REPOSITORY_ROOT), "--env-file", str(env_file), "--project-name",
                   f"bench-{profile}-{uuid.uuid4().hex[:6]}", "--profile", profile]
        started = time.monotonic()
        ready: dict[str, float] = {}
        try:
            subprocess.run([*compose, "up", "-d"], check=True, capture_output=True,
                           timeout=COMPOSE_TIMEOUT_S)
            while time.monotonic() < started + COMPOSE_TIMEOUT_S:
                listing = subprocess.run([*compose, "ps", "--all", "--format", "json"],
                                         check=True, capture_output=True, text=True,
                                         timeout=60).stdout
                states = [json.loads(line) for line in listing.splitlines() if line.strip()]
                if states and isinstance(states[0], list):
                    states = states[0]
                failed = [s["Service"] for s in states if s["Service"] in ONE_SHOT_SERVICES
                          and s["State"] == "exited" and s.get("ExitCode") != 0]
                if failed:
                    raise RuntimeError(f"compose {profile}: {failed} failed")
                now = time.monotonic() - started
                for state in states:
                    done = state["State"] == "exited" if state["Service"] in ONE_SHOT_SERVICES \
                        else state.get("Health") == "healthy"
                    if done:
                        ready.setdefault(state["Service"], now)
                if states and len(ready) == len(states):
                    return {**ready, "all": now}
                time.sleep(0.5)
            raise RuntimeError(f"compose {profile} not healthy in {COMPOSE_TIMEOUT_S}s")
        finally:
            subprocess.run([*compose, "down", "-v", "--timeout", "20"], capture_output=True,
                           timeout=300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compose", type=int, default=1,
                        help="bring-ups of the compose cluster to time (0: none)")
    args = parser.parse_args()
    shared = set(layers(SHARED_WITH))
    network = f"bench-{uuid.uuid4().hex[:6]}"
    docker("network", "create", network)
    mq_start = cold_start("synergos_mq:latest", network, "bench_mq", 15672, "/api/overview")
    try:
        print("| image | size (MB) | layers shared with the TTP cluster image | "
              "cold start to /health (s, median) |")
        print("|---|---:|---|---:|")
        for image in IMAGES:
            own = layers(image)
            common = sum(1 for layer in own if layer in shared)
            timing = f"{mq_start:.1f} (management API)" if image.startswith("synergos_mq") \
                else "-"
            if image in START_ARGS and args.repeat:
                runs = [cold_start(image, network) for _ in range(args.repeat)]
                timing = f"{statistics.median(runs):.1f} ({min(runs):.1f}-{max(runs):.1f})"
            print(f"| `{image}` | {size_mb(image):.0f} | {common} of {len(own)} | {timing} |")
    finally:
        subprocess.run([DOCKER, "rm", "-f", "bench_mq"], capture_output=True, timeout=60)
        docker("network", "rm", network)
    if args.compose:
        bring_ups = [compose_up_to_healthy() for _ in range(args.compose)]
        print("\n| compose cluster service | `up -d` to healthy (s, median, min-max) |\n|---|---:|")
        for service in sorted(bring_ups[0], key=lambda name: bring_ups[0][name]):
            times = [bring_up[service] for bring_up in bring_ups]
            print(f"| {service} | {statistics.median(times):.1f} "
                  f"({min(times):.1f}-{max(times):.1f}) |")


if __name__ == "__main__":
    main()
