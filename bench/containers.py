"""Image sizes, layers shared with the TTP image, and cold start to `/health` per role.

Needs the images (`make images`) and a Docker Engine in DOCKER_HOST. Each role is started
`--rm` on a throwaway network with its port 5000 published on 127.0.0.1, timed from
`docker run` to the first 200 on `/health`, then removed. Prints a Markdown table.

    DOCKER_HOST=unix:///path/docker.sock python -m bench.containers [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
import uuid

import requests

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
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
            if image in START_ARGS:
                runs = [cold_start(image, network) for _ in range(args.repeat)]
                timing = f"{statistics.median(runs):.1f} ({min(runs):.1f}-{max(runs):.1f})"
            print(f"| `{image}` | {size_mb(image):.0f} | {common} of {len(own)} | {timing} |")
    finally:
        subprocess.run([DOCKER, "rm", "-f", "bench_mq"], capture_output=True, timeout=60)
        docker("network", "rm", network)


if __name__ == "__main__":
    main()
