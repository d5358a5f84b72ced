"""One emulated wide-area link: a process that forwards IP packets between a tun device in
one namespace and a tun device in another, each way through a drop-tail queue drained at the
link rate and then held for the one-way delay.

This kernel has no `sch_netem`, so the delay is made here; the rate and the bounded queue
are made here too, so both directions of a link are modelled by one clock. A packet that
arrives while more than `queue_bytes` wait to be sent is dropped (as a router's queue does).

Run: `python -m tests.support.wide_area.link SPEC_JSON READY_FILE`, where SPEC_JSON holds
`{"ends": [[namespace, device, address], [..]], "rate_bps", "delay_s",
"queue_bytes", "mtu"}`; READY_FILE is written once both devices are up.
"""

from __future__ import annotations

import collections
import fcntl
import json
import os
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.wide_area.namespaces import enter_namespace, ip
from tests.support.wide_area.tally import RequestTally

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
READ_BURST = 64   # packets read from one device before the other gets its turn
MAX_PACKET = 65536
IDLE_WAKE = 0.05  # seconds an idle link waits before it looks at its signals again


def open_tun(namespace: str, device: str, address: str, mtu: int) -> int:
    """Create tun `device` in `namespace` with `address` on a /30 (the link's other end), up;
    returns its non-blocking file descriptor."""
    enter_namespace(namespace)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", device.encode(), IFF_TUN | IFF_NO_PI))
    ip("-n", namespace, "addr", "add", f"{address}/30", "dev", device)
    ip("-n", namespace, "link", "set", device, "mtu", str(mtu), "txqueuelen", "10000", "up")
    return fd


@dataclass
class Direction:
    """Packets from one device to the other: a serialising queue, then the delay line."""

    source: int
    sink: int
    rate_bps: float
    delay_s: float
    queue_bytes: int
    tally: RequestTally | None = None
    line: collections.deque = field(default_factory=collections.deque)
    link_free_at: float = 0.0   # when the last accepted packet has left the sender's queue
    forwarded: int = 0
    forwarded_bytes: int = 0
    dropped: int = 0

    def accept(self, packet: bytes, now: float) -> None:
        """Queue `packet` (drop tail when the queue is full) and schedule its delivery."""
        waiting = max(0.0, self.link_free_at - now) * self.rate_bps / 8
        if waiting + len(packet) > self.queue_bytes:
            self.dropped += 1
            return
        self.link_free_at = max(now, self.link_free_at) + len(packet) * 8 / self.rate_bps
        self.line.append((self.link_free_at + self.delay_s, packet))

    def deliver(self, now: float) -> None:
        """Write every packet whose time has come to the other device."""
        line = self.line
        while line and line[0][0] <= now:
            _, packet = line.popleft()
            try:
                os.write(self.sink, packet)
            except BlockingIOError:
                self.dropped += 1
                continue
            self.forwarded += 1
            self.forwarded_bytes += len(packet)
            if self.tally is not None:
                self.tally.add(packet)

    def next_due(self) -> float | None:
        return self.line[0][0] if self.line else None

    def counts(self) -> dict:
        """Packets and bytes forwarded, packets dropped (and requests seen, if tallied)."""
        counts = {"forwarded": self.forwarded, "bytes": self.forwarded_bytes,
                  "dropped": self.dropped}
        if self.tally is not None:
            counts["requests"] = dict(self.tally.verbs)
            counts["connections"] = self.tally.connections
        return counts


def write_counts(path: Path, directions: list[Direction], sequence: int) -> None:
    """Publish both directions' counts (`a_to_b` is hub to site), the process's CPU seconds
    and `sequence` (which snapshot this is) atomically."""
    counts = {"a_to_b": directions[0].counts(), "b_to_a": directions[1].counts(),
              "cpu_s": time.process_time(), "sequence": sequence}
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(counts))
    scratch.replace(path)


def run(spec: dict, ready_file: Path) -> None:
    """Open both ends, signal readiness, and forward until SIGTERM; on SIGUSR1 (and at the
    end) write the counts to `<ready_file>.counts.json`."""
    fd_a, fd_b = (open_tun(*end, spec["mtu"]) for end in spec["ends"])
    args = (spec["rate_bps"], spec["delay_s"], spec["queue_bytes"])
    directions = {fd_a: Direction(fd_a, fd_b, *args, tally=RequestTally()),
                  fd_b: Direction(fd_b, fd_a, *args)}
    counts_file = ready_file.with_suffix(".counts.json")
    stopping: list[bool] = []
    snapshots: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGUSR1, lambda *_: snapshots.append(True))
    ready_file.write_text(json.dumps({"pid": os.getpid()}))
    sequence = 0
    while not stopping:
        if snapshots:
            snapshots.clear()
            sequence += 1
            write_counts(counts_file, list(directions.values()), sequence)
        dues = [due for d in directions.values() if (due := d.next_due()) is not None]
        timeout = max(0.0, min(dues) - time.monotonic()) if dues else IDLE_WAKE
        try:
            readable, _, _ = select.select(list(directions), [], [], timeout)
        except InterruptedError:
            continue
        for fd in readable:
            direction = directions[fd]
            for _ in range(READ_BURST):
                try:
                    packet = os.read(fd, MAX_PACKET)
                except BlockingIOError:
                    break
                direction.accept(packet, time.monotonic())
        now = time.monotonic()
        for direction in directions.values():
            direction.deliver(now)
    write_counts(counts_file, list(directions.values()), sequence + 1)


if __name__ == "__main__":
    run(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
