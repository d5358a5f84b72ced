"""The link forwarder's accounting of segmentation-offload packets: one frame read from a
tun stands for the segments it will be cut into, each with its own IP and TCP headers."""

from __future__ import annotations

import struct

from tests.support.wide_area.link import VNET_HEADER, segments

IP_HEADER, TCP_HEADER = 20, 32


def frame(payload: int, gso_size: int) -> bytes:
    """A vnet header (gso_size only) and an IPv4/TCP packet carrying `payload` bytes."""
    vnet = struct.pack("<BBHHHH", 0, 1 if gso_size else 0, 0, gso_size, 0, 0)
    ip = bytes([0x45]) + bytes(IP_HEADER - 1)
    tcp = bytes(12) + bytes([(TCP_HEADER // 4) << 4]) + bytes(TCP_HEADER - 13)
    return vnet + ip + tcp + bytes(payload)


def test_an_offload_frame_counts_as_its_segments_with_their_headers() -> None:
    # 5,000 bytes in 1,448-byte segments: 4 segments, 3 more sets of headers on the wire
    assert len(frame(5000, 1448)) == VNET_HEADER + IP_HEADER + TCP_HEADER + 5000
    assert segments(frame(5000, 1448)) == (4, IP_HEADER + TCP_HEADER + 5000 + 3 * 52)


def test_a_plain_frame_is_one_segment_of_its_own_length() -> None:
    assert segments(frame(100, 0)) == (1, IP_HEADER + TCP_HEADER + 100)
    assert segments(frame(1448, 1448)) == (1, IP_HEADER + TCP_HEADER + 1448)
