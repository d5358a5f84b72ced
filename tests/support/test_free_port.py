"""`free_port` never hands out a port twice in one process: the kernel's ephemeral picks
repeat (measured: 15 % of runs of 66 picks had a duplicate), and a grid of 32 Workers once
got a command port that was already another Worker's data port."""

from __future__ import annotations

import socket

from synergos_testing.local_processes import LOOPBACK, free_port


def test_ports_are_never_given_twice_and_are_free() -> None:
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, ports[-1]))  # nothing listens there
