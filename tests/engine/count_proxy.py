"""A TCP proxy process in front of a Worker's data port that counts the requests it forwards.

Every request line `POST /data/<project>/<expt>/<run>/<verb> HTTP/1.1` the TTP sends is
counted by verb (`fit`, `evaluate`, `predict`), and `<signal_dir>/counts.json` is rewritten
(atomically) after each one, so a test reads how many exchanges each Worker had.

Run: `python -m tests.engine.count_proxy LISTEN_PORT TARGET_PORT SIGNAL_DIR [HOST]` (the
address it listens on and reaches the Worker at; 127.0.0.1 unless given).
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from collections import Counter
from pathlib import Path

from tests.engine.tcp_relay import close_both, received_chunks, serve

REQUEST_LINE = re.compile(rb"POST /data/[^ \r\n]*/(fit|evaluate|predict) HTTP/1\.1\r\n")
TAIL = 1024  # longer than any request line


class RequestCounter:
    """Request counts by verb over every connection, mirrored to `counts.json`."""

    def __init__(self, signal_dir: Path) -> None:
        self.signal_dir = signal_dir
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def add(self, verbs: list[str]) -> None:
        """Count `verbs` and publish the totals."""
        if not verbs:
            return
        with self.lock:
            self.counts.update(verbs)
            scratch = self.signal_dir / "counts.json.tmp"
            scratch.write_text(json.dumps(self.counts))
            scratch.replace(self.signal_dir / "counts.json")


def pump_from_client(client: socket.socket, worker: socket.socket,
                     counter: RequestCounter) -> None:
    """Forward the client's bytes, counting the request lines that end in each chunk."""
    tail = b""
    for chunk in received_chunks(client):
        window = tail + chunk
        counter.add([match.group(1).decode() for match in REQUEST_LINE.finditer(window)
                     if match.end() > len(tail)])
        tail = window[-TAIL:]
        try:
            worker.sendall(chunk)
        except OSError:
            break
    close_both(client, worker)


if __name__ == "__main__":
    listen, target, directory = sys.argv[1:4]
    counter = RequestCounter(Path(directory))
    serve(int(listen), int(target), counter.signal_dir,
          lambda client, worker: pump_from_client(client, worker, counter), *sys.argv[4:5])
