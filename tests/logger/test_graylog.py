"""The `graylog` variant: GELF over UDP and TCP to local sockets on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
import zlib
from collections.abc import Iterator

import pytest

from synlogger import CENSORED, configure_node_logging, shutdown_node_logging

TOKEN = "gelf-token-abcdefghijklmnop"


@pytest.fixture
def udp_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.fixture
def tcp_listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.settimeout(5)
    yield sock
    sock.close()


def receive_udp(sock: socket.socket, message: str) -> dict:
    """Read datagrams until the GELF event whose short_message is `message`."""
    while True:
        datagram, _ = sock.recvfrom(65535)
        payload = zlib.decompress(datagram) if datagram[:1] == b"\x78" else datagram
        event = json.loads(payload)
        if event["short_message"] == message:
            return event


def test_udp_gelf_carries_message_level_and_fields(udp_socket: socket.socket) -> None:
    port = udp_socket.getsockname()[1]
    logger = configure_node_logging("ttp/9", "ttp", ["graylog", "127.0.0.1", str(port), "udp"])
    logger.warning("aggregated round", extra={"project_id": "p1", "round": 2})
    event = receive_udp(udp_socket, "aggregated round")
    assert event["version"] == "1.0"
    assert event["level"] == 4  # syslog WARNING
    assert event["_node_id"] == "ttp/9" and event["_role"] == "ttp"
    assert (event["_project_id"], event["_round"]) == ("p1", 2)
    assert event["facility"] == "synergos.ttp"


def test_tcp_gelf_is_the_default_transport(tcp_listener: socket.socket) -> None:
    port = tcp_listener.getsockname()[1]
    logger = configure_node_logging("w/2", "worker", ["graylog", "127.0.0.1", str(port)])
    logger.info("tcp event", extra={"epoch": 1})
    connection, _ = tcp_listener.accept()
    connection.settimeout(5)
    buffer = b""
    with connection:
        while True:
            buffer += connection.recv(65535)
            frames = [json.loads(frame) for frame in buffer.split(b"\0")[:-1]]
            matching = [frame for frame in frames if frame["short_message"] == "tcp event"]
            if matching:
                break
    assert matching[0]["_epoch"] == 1 and matching[0]["_node_id"] == "w/2"


def test_unreachable_graylog_never_blocks_the_caller() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    logger = configure_node_logging("w/4", "worker", ["graylog", "127.0.0.1", str(closed_port)])
    started = time.monotonic()
    for index in range(200):
        logger.info("event %d", index)
    assert time.monotonic() - started < 0.5
    shutdown_node_logging()  # drains the queue against the closed port without raising


def test_censored_gelf_hides_identifiers_and_the_machine_name(udp_socket: socket.socket) -> None:
    port = udp_socket.getsockname()[1]
    logger = configure_node_logging("w/3", "worker", ["graylog", "127.0.0.1", str(port), "udp"],
                                    censored=True, debug=True, secrets=[TOKEN])
    logger.error("cannot reach 10.9.8.7:8020 with %s", TOKEN,
                 extra={"data_dir": "/worker/data", "peer": "10.9.8.7"})
    event = receive_udp(udp_socket, f"cannot reach {CENSORED} with ***")
    raw = json.dumps(event)
    for identifier in ("10.9.8.7", "/worker/data", TOKEN, socket.gethostname()):
        assert identifier not in raw
    assert event["host"] == "w/3"
    assert event["_data_dir"] == CENSORED and event["_peer"] == CENSORED
    assert "/" not in event["file"]  # debugging fields keep only the file name
    shutdown_node_logging()
