"""A TCP proxy process in front of a Worker's data port that holds the Nth fit request (or
the Nth request to another route, e.g. `secagg-masked`).

It forwards bytes both ways until the client side has sent `hold_at` such request lines; from
then on it forwards nothing more from the client and writes `<signal_dir>/held`, so a test can
act (kill or pause the Worker) while that round's request is provably in flight. When the
Worker side closes, the client side is closed too, as a dead Worker's socket would be.

Run: `python -m tests.engine.hold_proxy LISTEN_PORT TARGET_PORT HOLD_AT SIGNAL_DIR [ROUTE]`.
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

from tests.engine.tcp_relay import close_both, received_chunks, serve


class FitCounter:
    """Counts request lines of one route (default `fit`) across every client connection, and
    signals the held one."""

    def __init__(self, hold_at: int, signal_dir: Path, route: str = "fit") -> None:
        self.hold_at = hold_at
        self.signal_dir = signal_dir
        self.request = f"/{route} HTTP/1.".encode()
        self.seen = 0
        self.lock = threading.Lock()

    def should_hold(self, new_requests: int) -> bool:
        """Add `new_requests` fit lines; True once the `hold_at`-th has been seen."""
        with self.lock:
            self.seen += new_requests
            if self.seen < self.hold_at:
                return False
            marker = self.signal_dir / "held"
            if not marker.exists():
                marker.write_text(str(self.seen))
            return True


def pump_from_client(client: socket.socket, worker: socket.socket,
                     counter: FitCounter) -> None:
    """Forward the client's bytes until its request number `hold_at` starts."""
    tail = b""
    holding = False
    marker = counter.request
    for chunk in received_chunks(client):
        window = tail + chunk
        holding = holding or counter.should_hold(window.count(marker) - tail.count(marker))
        tail = window[-len(marker):]
        if not holding:
            try:
                worker.sendall(chunk)
            except OSError:
                break
    close_both(client, worker)


if __name__ == "__main__":
    listen, target, hold_at, directory = sys.argv[1:5]
    counter = FitCounter(int(hold_at), Path(directory), *sys.argv[5:6])
    serve(int(listen), int(target), counter.signal_dir,
          lambda client, worker: pump_from_client(client, worker, counter))
