"""Raw-pika helpers that inspect the broker independently of the code under test."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from synergos_testing.local_broker import RabbitBroker
from synmanager.topology import ROUTES, declare_topology


@contextlib.contextmanager
def raw_channel(broker: RabbitBroker) -> Iterator[BlockingChannel]:
    """A plain pika channel on its own connection, closed afterwards."""
    connection = pika.BlockingConnection(broker.connection_parameters())
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def reset_queues(broker: RabbitBroker) -> None:
    """Declare the topology and purge every SynCluster queue."""
    with raw_channel(broker) as channel:
        declare_topology(channel)
        for queue in ROUTES:
            channel.queue_purge(queue)


def ready_count(broker: RabbitBroker, queue: str) -> int:
    """Messages ready in `queue`, seen from a fresh connection."""
    with raw_channel(broker) as channel:
        return channel.queue_declare(queue=queue, passive=True).method.message_count


def take_messages(broker: RabbitBroker, queue: str, count: int, timeout: float = 10.0,
                  ) -> list[tuple[pika.BasicProperties, Any]]:
    """Consume (auto-ack) exactly `count` messages from `queue`, waiting up to `timeout`."""
    taken: list[tuple[pika.BasicProperties, Any]] = []
    deadline = time.monotonic() + timeout
    with raw_channel(broker) as channel:
        while len(taken) < count:
            method, properties, body = channel.basic_get(queue=queue, auto_ack=True)
            if method is not None:
                taken.append((properties, json.loads(body)))
            elif time.monotonic() > deadline:
                raise AssertionError(f"only {len(taken)} of {count} messages in {queue!r}")
            else:
                time.sleep(0.02)
    return taken


def publish_raw(broker: RabbitBroker, queue: str, body: bytes,
                headers: dict[str, Any] | None = None) -> None:
    """Put raw bytes straight into `queue` (default exchange), bypassing every guard."""
    with raw_channel(broker) as channel:
        channel.basic_publish(exchange="", routing_key=queue, body=body,
                              properties=pika.BasicProperties(delivery_mode=2, headers=headers))


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll `predicate` every 20 ms until true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.02)


@contextlib.contextmanager
def running_in_thread(target: Callable[[threading.Event], None]) -> Iterator[threading.Event]:
    """Run `target(stop_event)` in a thread; set the event and join it on exit."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target(stop)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "consumer thread did not stop"
    if errors:
        raise errors[0]
