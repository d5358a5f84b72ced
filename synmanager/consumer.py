"""Consumers: `poll_message` (one message), `listen_message` (a reconnecting loop) and
`check_message_count`, with ack-after-result, bounded retries and dead-lettering."""

from __future__ import annotations

import collections
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from synmanager.base import BaseOperator
from synmanager.connection import CONNECTION_LOST_ERRORS
from synmanager.delivery import (
    ConsumerStats,
    DeliveryOutcome,
    DeliveryPolicy,
    DeliveryProcessor,
    Handler,
)
from synmanager.errors import PublishError
from synmanager.topology import operator_route

logger = logging.getLogger(__name__)

RECONNECT_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_LOST_ERRORS, PublishError)


def adapt_callback(callback: Callable[..., Any], host: str) -> Handler:
    """Wrap a user callback as `handler(message)`. A callback with a `host` parameter (the
    seeds' `perform_action(kwargs, host)`) also receives the broker's host."""
    if not callable(callback):
        raise TypeError(f"callback must be callable, not {type(callback).__name__}")
    try:
        wants_host = "host" in inspect.signature(callback).parameters
    except (TypeError, ValueError):
        wants_host = False
    if wants_host:
        return lambda message: callback(message, host=host)
    return callback


class ConsumerOperator(BaseOperator):
    """Consumes one SynCluster queue (`queue`, or the class's `default_queue`) with prefetch 1
    and manual acks. A job queue's results and failures are published to `completed`; the
    `completed` queue's consumer runs `callback(message)` and publishes nothing, and a
    callback that keeps raising gets its message dead-lettered (never requeued forever)."""

    default_queue: ClassVar[str | None] = None
    prefetch_count: ClassVar[int | None] = 1

    def __init__(self, host: str = "localhost", port: int = 5672, username: str = "guest",
                 password: str = "guest", *, queue: str | None = None, max_attempts: int = 3,
                 publish_results: bool | None = None, idle_wait: float = 0.25,
                 job_poll_interval: float = 1.0, **options: Any) -> None:
        super().__init__(host, port, username, password, **options)
        route = operator_route(queue, self.default_queue, type(self).__name__)
        self.queue = route.queue
        publish = route.carries_jobs if publish_results is None else publish_results
        self.policy = DeliveryPolicy(
            max_attempts=max_attempts, max_message_bytes=self.max_message_bytes,
            publish_results=publish, report_failures=route.carries_jobs,
            poll_interval=job_poll_interval,
        )
        self.idle_wait = idle_wait
        self.stats = ConsumerStats()
        self._stop = threading.Event()

    def check_message_count(self) -> int:
        """Messages ready in the queue (not counting those delivered and not yet acked)."""
        try:
            frame = self._require_channel().queue_declare(queue=self.queue, passive=True)
        except CONNECTION_LOST_ERRORS:
            self.disconnect()
            frame = self._require_channel().queue_declare(queue=self.queue, passive=True)
        return frame.method.message_count

    def poll_message(self, process_callback: Callable[..., Any]) -> DeliveryOutcome | None:
        """Take one message if there is one, run the callback, settle it; None when empty."""
        handler = adapt_callback(process_callback, self.host)
        channel = self._require_channel()
        method, properties, body = channel.basic_get(queue=self.queue, auto_ack=False)
        if method is None:
            return None
        return self._settle(method, properties, body, handler)

    def listen_message(self, process_callback: Callable[..., Any],
                       stop_event: threading.Event | None = None) -> None:
        """Serve the queue until `stop_event` (or `stop()`) is set, reconnecting with backoff
        whenever the connection is lost. Each message is acked after its callback returns."""
        handler = adapt_callback(process_callback, self.host)
        stop = self._stop = stop_event or threading.Event()
        while not stop.is_set():
            try:
                if not self.connect_until(stop):
                    break
                self._consume(handler, stop)
            except RECONNECT_ERRORS as exc:
                self.stats.reconnects += 1
                logger.warning("lost RabbitMQ while serving %r (%r); reconnecting",
                               self.queue, exc)
                self.disconnect()
                stop.wait(self.backoff.next_delay())

    def stop(self) -> None:
        """Ask the running `listen_message` to return after the message in hand (thread-safe;
        sets the `stop_event` it was given, if any)."""
        self._stop.set()

    def _consume(self, handler: Handler, stop: threading.Event) -> None:
        connection, channel = self.connection, self.channel
        assert connection is not None and channel is not None
        pending: collections.deque[tuple[Any, Any, bytes | None]] = collections.deque()
        tag = channel.basic_consume(
            queue=self.queue, auto_ack=False,
            on_message_callback=lambda _ch, method, props, body: pending.append(
                (method, props, body)),
        )
        consuming = True

        def cancel_if_stopping() -> None:
            nonlocal consuming
            if consuming and stop.is_set():
                channel.basic_cancel(tag)
                consuming = False

        while not stop.is_set():
            if not pending:
                connection.process_data_events(time_limit=self.idle_wait)
            while pending:
                self._settle(*pending.popleft(), handler, before_ack=cancel_if_stopping)
        if consuming:
            channel.basic_cancel(tag)

    def _settle(self, method: Any, properties: Any, body: bytes | None, handler: Handler,
                before_ack: Callable[[], None] | None = None) -> DeliveryOutcome:
        assert self.connection is not None and self.channel is not None
        processor = DeliveryProcessor(self.connection, self.channel, self.queue, self.policy,
                                      before_ack)
        outcome = processor.process(method, properties, body, handler)
        self.stats.record(outcome)
        return outcome
