"""The delay of every emulated link, in one process: it forwards packets between each link's
two router tun devices (`topology.py`) and holds each for the one-way delay.

This kernel has no `sch_netem`, so the delay is made here; the rate and the drop-tail queue
are the kernel's (`tbf` on each tun, before a packet reaches this process). The tun devices
pass segmentation-offload packets (`IFF_VNET_HDR` with TSO), so a bulk transfer crosses
this process as packets of up to 64 KiB (each still counted as the segments it stands for).

Run: `python -m tests.support.wide_area.link SPEC_JSON READY_FILE`, where SPEC_JSON holds
`{"links": [[[namespace, device], [namespace, device]], ...], "delay_s", "mtu"}` (hub-side
tun first); READY_FILE is written once every tun is open. SIGUSR1 (and SIGTERM, before
exiting) writes the counts to `<READY_FILE>.counts.json`.
"""

from __future__ import annotations

import collections
import contextlib
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
from typing import Any

from tests.support.wide_area.namespaces import enter_namespace, ip
from tests.support.wide_area.tally import RequestTally
from tests.support.wide_area.topology import queue_drops

TUNSETIFF = 0x400454CA
TUNSETOFFLOAD = 0x400454D0
IFF_TUN, IFF_NO_PI, IFF_VNET_HDR = 0x0001, 0x1000, 0x4000
TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN = 0x01, 0x02, 0x04, 0x08
VNET_HEADER = 10   # struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_*
READ_BURST = 256   # packets read from one device per wake-up
MAX_PACKET = 65536 + VNET_HEADER + 256
IDLE_WAKE = 0.05   # seconds an idle process waits before it looks at its signals again
# Wake-ups are at least this far apart: what arrives meanwhile waits in the tun's queue and
# is read in one batch. Packets due within half of it are released together (a packet's
# delay is exact within +-TICK / 2).
TICK = 0.0005
REALTIME_PRIORITY = 10


def open_tun(namespace: str, device: str, mtu: int) -> int:
    """Create tun `device` in `namespace` with segmentation offload, up, no address; its
    non-blocking file descriptor."""
    enter_namespace(namespace)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", device.encode(),
                                           IFF_TUN | IFF_NO_PI | IFF_VNET_HDR))
    fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
    ip("-n", namespace, "link", "set", device, "mtu", str(mtu), "txqueuelen", "10000", "up")
    return fd


def segments(frame: bytes) -> tuple[int, int]:
    """(segments, IP bytes on the wire) of one frame read from a tun: an offload packet
    stands for `gso_size`-byte segments, each with the packet's IP and TCP headers."""
    gso_size = int.from_bytes(frame[4:6], "little")
    length = len(frame) - VNET_HEADER
    if not gso_size or length < 40:
        return 1, length
    ip_header = (frame[VNET_HEADER] & 0x0F) * 4
    headers = ip_header + (frame[VNET_HEADER + ip_header + 12] >> 4) * 4
    count = max(1, -(-(length - headers) // gso_size))
    return count, length + (count - 1) * headers


@dataclass
class Direction:
    """Packets from one tun to the other, each held for the delay."""

    source: int
    sink: int
    delay_s: float
    queue: tuple[str, str]   # (namespace, device) whose tbf queues this direction
    tally: RequestTally | None = None
    line: collections.deque = field(default_factory=collections.deque)
    frames: int = 0          # what crossed this process (one offload packet is one frame)
    forwarded: int = 0
    forwarded_bytes: int = 0
    lost: int = 0            # packets the sink did not take

    def read(self, now: float) -> None:
        """Read what the source holds (up to a burst) into the delay line."""
        due = now + self.delay_s
        for _ in range(READ_BURST):
            try:
                frame = os.read(self.source, MAX_PACKET)
            except BlockingIOError:
                return
            self.line.append((due, frame))

    def deliver(self, until: float) -> None:
        """Write every packet due by `until` to the sink."""
        line = self.line
        while line and line[0][0] <= until:
            _, frame = line.popleft()
            try:
                os.write(self.sink, frame)
            except (BlockingIOError, OSError):
                self.lost += 1
                continue
            count, wire = segments(frame)
            self.frames += 1
            self.forwarded += count
            self.forwarded_bytes += wire
            if self.tally is not None:
                self.tally.add(frame[VNET_HEADER:])

    def counts(self) -> dict:
        """Frames through this process, segments and IP bytes forwarded, packets dropped by
        the queue (or lost here), and the hub's connections and requests (if tallied)."""
        counts: dict[str, Any] = {
            "frames": self.frames, "forwarded": self.forwarded, "bytes": self.forwarded_bytes,
            "dropped": queue_drops(*self.queue) + self.lost}
        if self.tally is not None:
            counts["requests"] = dict(self.tally.verbs)
            counts["connections"] = self.tally.connections
        return counts


def write_counts(path: Path, links: list[tuple[Direction, Direction]], sequence: int) -> None:
    """Publish per link both directions' counts (`a_to_b` is hub to site), the process's CPU
    seconds (all, and in user space: the rest is the kernel's network stack, which runs in
    this process when it writes a packet) and `sequence` (which snapshot this is) atomically."""
    times = os.times()
    counts = {"links": [{"a_to_b": down.counts(), "b_to_a": up.counts()} for down, up in links],
              "cpu_s": times.user + times.system, "cpu_user_s": times.user,
              "sequence": sequence}
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(counts))
    scratch.replace(path)


def run(spec: dict, ready_file: Path) -> None:
    """Open every link's tuns, signal readiness, and forward until SIGTERM (at real-time
    priority where allowed: a link must not wait for the CPU behind the machine's load)."""
    with contextlib.suppress(PermissionError, OSError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    links = []
    for (hub_router, hub_tun), (site_router, site_tun) in spec["links"]:
        hub_fd = open_tun(hub_router, hub_tun, spec["mtu"])
        site_fd = open_tun(site_router, site_tun, spec["mtu"])
        links.append((Direction(hub_fd, site_fd, spec["delay_s"], (hub_router, hub_tun),
                                tally=RequestTally()),
                      Direction(site_fd, hub_fd, spec["delay_s"], (site_router, site_tun))))
    directions = {direction.source: direction for pair in links for direction in pair}
    counts_file = ready_file.with_suffix(".counts.json")
    stopping: list[bool] = []
    snapshots: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGUSR1, lambda *_: snapshots.append(True))
    ready_file.write_text(json.dumps({"pid": os.getpid()}))
    sequence = 0
    sources = list(directions)
    woke = time.monotonic()
    while not stopping:
        if snapshots:
            snapshots.clear()
            sequence += 1
            write_counts(counts_file, links, sequence)
        dues = [d.line[0][0] for d in directions.values() if d.line]
        timeout = max(0.0, min(dues) - TICK / 2 - time.monotonic()) if dues else IDLE_WAKE
        try:
            readable, _, _ = select.select(sources, [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in readable:
            directions[fd].read(now)
        for direction in directions.values():
            direction.deliver(now + TICK / 2)
        pause = woke + TICK - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        woke = time.monotonic()
    write_counts(counts_file, links, sequence + 1)


if __name__ == "__main__":
    run(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
