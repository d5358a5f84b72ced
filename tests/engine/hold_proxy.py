"""A TCP proxy process in front of a Worker's data port that holds the Nth fit request.

It forwards bytes both ways until the client side has sent `hold_at` fit request lines; from
then on it forwards nothing more from the client and writes `<signal_dir>/held`, so a test can
act (kill or pause the Worker) while that round's request is provably in flight. When the
Worker side closes, the client side is closed too, as a dead Worker's socket would be.

Run: `python -m tests.engine.hold_proxy LISTEN_PORT TARGET_PORT HOLD_AT SIGNAL_DIR`.
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

from tests.engine.tcp_relay import close_both, received_chunks, serve

FIT_REQUEST = b"/fit HTTP/1."


class FitCounter:
    """Counts fit request lines across every client connection, and signals the held one."""

    def __init__(self, hold_at: int, signal_dir: Path) -> None:
        self.hold_at = hold_at
        self.signal_dir = signal_dir
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
    """Forward the client's bytes until its fit request number `hold_at` starts."""
    tail = b""
    holding = False
    for chunk in received_chunks(client):
        window = tail + chunk
        holding = holding or counter.should_hold(window.count(FIT_REQUEST)
                                                 - tail.count(FIT_REQUEST))
        tail = window[-len(FIT_REQUEST):]
        if not holding:
            try:
                worker.sendall(chunk)
            except OSError:
                break
    close_both(client, worker)


if __name__ == "__main__":
    listen, target, hold_at, directory = sys.argv[1:5]
    counter = FitCounter(int(hold_at), Path(directory))
    serve(int(listen), int(target), counter.signal_dir,
          lambda client, worker: pump_from_client(client, worker, counter))
