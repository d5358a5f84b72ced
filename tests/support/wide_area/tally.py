"""What the hub sent over a link, counted in the link process: the TCP connections it opened
(SYN segments) and the data-port requests (`POST /data/.../<verb>`), read from the start of
each TCP segment's payload (a request head starts a segment: the TTP sends it on an idle
keep-alive connection or a new one). A retransmitted segment is counted once (by addresses,
ports and sequence number)."""

from __future__ import annotations

import re
from collections import Counter

REQUEST_LINE = re.compile(rb"POST /data/[^ \r\n]*/(fit|evaluate|predict) HTTP/1\.1\r\n")
TCP = 6
SYN, ACK = 0x02, 0x10


class RequestTally:
    """Connections opened and data-port requests (by verb) seen in IPv4/TCP packets."""

    def __init__(self) -> None:
        self.verbs: Counter[str] = Counter()
        self.connections = 0
        self._seen: set[bytes] = set()

    def add(self, packet: bytes) -> None:
        """Count the connection or the request a packet starts, if it starts one."""
        if len(packet) < 40 or packet[0] >> 4 != 4 or packet[9] != TCP:
            return
        ip_header = (packet[0] & 0x0F) * 4
        flags = packet[ip_header + 13]
        payload = ip_header + (packet[ip_header + 12] >> 4) * 4
        if flags & (SYN | ACK) == SYN:
            if self._first(packet, ip_header):
                self.connections += 1
            return
        if packet[payload:payload + 11] != b"POST /data/":
            return
        match = REQUEST_LINE.match(packet, payload)
        if match is not None and self._first(packet, ip_header):
            self.verbs[match.group(1).decode()] += 1

    def _first(self, packet: bytes, ip_header: int) -> bool:
        """Whether this segment (addresses, ports, sequence number) was not seen before."""
        segment = packet[12:20] + packet[ip_header:ip_header + 8]
        if segment in self._seen:
            return False
        self._seen.add(segment)
        return True
