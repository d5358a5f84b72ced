"""`free_port` never hands out a port twice in one process and never one in the kernel's
ephemeral range, where any outgoing connection may take it before the node binds."""

from __future__ import annotations

import socket

from synergos_testing.local_processes import LOOPBACK, _ephemeral_port_range, free_port


def test_ports_are_never_given_twice_and_are_free() -> None:
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, ports[-1]))  # nothing listens there


def test_ports_are_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral_port_range()
    assert all(not low <= free_port() <= high for _ in range(200))
