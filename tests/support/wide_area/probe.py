"""Raw TCP through a `WideAreaNetwork`: the round-trip time of a link and the time of a
weights-shaped exchange (the hub sends every site `down` bytes at once, each site answers
with `up` bytes), the reference a Synergos round over the same links is compared with."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Sequence

from tests.support.wide_area.bridge import connect_in, listen_in
from tests.support.wide_area.network import WideAreaNetwork

PROBE_PORT = 7099
HEADER = 16  # two 8-byte sizes: bytes that follow, bytes to answer with
CHUNK = 1 << 20


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    parts, remaining = [], count
    while remaining:
        chunk = sock.recv(min(remaining, CHUNK))
        if not chunk:
            raise ConnectionError(f"peer closed with {remaining} bytes to go")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _echo_server(listener: socket.socket) -> None:
    """Per request: read `HEADER`, the payload, answer with the asked number of bytes."""
    connection, _ = listener.accept()
    listener.close()
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with connection:
        while True:
            try:
                head = _read_exactly(connection, HEADER)
            except (ConnectionError, OSError):
                return
            incoming, answer = int.from_bytes(head[:8], "big"), int.from_bytes(head[8:], "big")
            _read_exactly(connection, incoming)
            connection.sendall(bytes(max(answer, 1)))


class ProbeSession:
    """One kept-alive probe connection from the hub to each site."""

    def __init__(self, network: WideAreaNetwork, sites: Sequence[str] | None = None) -> None:
        self.sites = list(sites or network.sites)
        self.connections = {}
        for site in self.sites:
            address = (network.address(site), PROBE_PORT)
            listener = listen_in(network.namespace(site), address)
            threading.Thread(target=_echo_server, args=(listener,), daemon=True).start()
            sock = connect_in(network.hub, address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections[site] = sock

    def close(self) -> None:
        """Close every probe connection."""
        for sock in self.connections.values():
            sock.close()

    def exchange(self, site: str, down: int, up: int) -> float:
        """Send `down` bytes to `site`, wait for its `up` bytes; the seconds it took."""
        sock = self.connections[site]
        started = time.perf_counter()
        sock.sendall(down.to_bytes(8, "big") + max(up, 1).to_bytes(8, "big"))
        if down:
            sock.sendall(bytes(down))
        _read_exactly(sock, max(up, 1))
        return time.perf_counter() - started

    def rtt(self, site: str, samples: int = 20) -> float:
        """Median seconds of a one-byte exchange with `site`."""
        return statistics.median(self.exchange(site, 0, 1) for _ in range(samples))

    def round(self, down: int, up: int) -> float:
        """Every site's exchange at once; seconds until the last one finished."""
        threads = [threading.Thread(target=self.exchange, args=(site, down, up))
                   for site in self.sites]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started
