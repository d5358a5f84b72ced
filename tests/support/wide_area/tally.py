"""What crossed a link, counted in the link process: IP bytes each way and the data-port
requests (`POST /data/.../<verb>`) the hub sent, read from the start of each TCP segment's
payload (a request head starts a segment: the TTP sends it on an idle keep-alive connection
or a new one). A retransmitted segment is counted once (by connection and sequence number)."""

from __future__ import annotations

import re
from collections import Counter

REQUEST_LINE = re.compile(rb"POST /data/[^ \r\n]*/(fit|evaluate|predict) HTTP/1\.1\r\n")
TCP = 6


class RequestTally:
    """Data-port requests seen in IPv4/TCP packets, by verb."""

    def __init__(self) -> None:
        self.verbs: Counter[str] = Counter()
        self._seen: set[bytes] = set()

    def add(self, packet: bytes) -> None:
        """Count the request a packet starts, if it starts one."""
        if len(packet) < 40 or packet[0] >> 4 != 4 or packet[9] != TCP:
            return
        ip_header = (packet[0] & 0x0F) * 4
        payload = ip_header + (packet[ip_header + 12] >> 4) * 4
        if packet[payload:payload + 11] != b"POST /data/":
            return
        match = REQUEST_LINE.match(packet, payload)
        if match is None:
            return
        # addresses, ports and sequence number identify the segment across retransmissions
        segment = packet[12:20] + packet[ip_header:ip_header + 8]
        if segment not in self._seen:
            self._seen.add(segment)
            self.verbs[match.group(1).decode()] += 1
