"""A cluster-TTP-like consumer process for crash tests: announces each job, then works long.

Usage: python consumer_process.py HOST PORT MARKER_PATH
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from synmanager import PriorityConsumer


def main(host: str, port: int, marker: Path) -> None:
    """Serve jobs; each writes its job_id to `marker` and then takes 60 s."""

    def slow_job(message: dict) -> dict:
        marker.write_text(message["job_id"])
        time.sleep(60)
        return {"outputs": "from the killed consumer"}

    PriorityConsumer(host, port, heartbeat=2).run(slow_job, threading.Event())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
