"""The cluster TTP's job loop: take one job at a time, preprocess > train > evaluate."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from synmanager.base import BaseOperator
from synmanager.consumer import RECONNECT_ERRORS
from synmanager.delivery import ConsumerStats, DeliveryOutcome, DeliveryPolicy, DeliveryProcessor
from synmanager.topology import JOB_QUEUES_BY_PRIORITY, route_for

logger = logging.getLogger(__name__)

FIRST_IDLE_WAIT = 0.01


class PriorityConsumer(BaseOperator):
    """Serves several job queues, always taking from the first non-empty one in `queues`
    order. Each job runs in a worker thread while heartbeats continue; its result goes to
    `completed` (with `job_id`/`process` carried over) before the job is acked."""

    def __init__(self, host: str = "localhost", port: int = 5672,
                 queues: Sequence[str] = JOB_QUEUES_BY_PRIORITY, username: str = "guest",
                 password: str = "guest", *, max_attempts: int = 3, idle_wait: float = 0.2,
                 job_poll_interval: float = 1.0, **options: Any) -> None:
        super().__init__(host, port, username, password, **options)
        if isinstance(queues, str) or not queues:
            raise ValueError("queues must be a non-empty sequence of queue names")
        for queue in queues:
            route_for(queue)
        if idle_wait <= 0:
            raise ValueError("idle_wait must be positive")
        self.queues = tuple(queues)
        self.idle_wait = idle_wait
        # Empty polls back off from FIRST_IDLE_WAIT to `idle_wait`: a job that follows soon
        # after the previous one (e.g. a validation after a training) is picked up at once.
        self._next_wait = FIRST_IDLE_WAIT
        self.policy = DeliveryPolicy(max_attempts=max_attempts,
                                     max_message_bytes=self.max_message_bytes,
                                     poll_interval=job_poll_interval)
        self.stats = ConsumerStats()

    def run(self, handler: Callable[[dict], dict | None], stop_event: threading.Event) -> None:
        """Serve jobs until `stop_event` is set (the job in hand is finished first),
        reconnecting with backoff when the connection is lost."""
        if not callable(handler):
            raise TypeError(f"handler must be callable, not {type(handler).__name__}")
        while not stop_event.is_set():
            try:
                if not self.connect_until(stop_event):
                    break
                while not stop_event.is_set():
                    self.run_once(handler)
            except RECONNECT_ERRORS as exc:
                self.stats.reconnects += 1
                logger.warning("lost RabbitMQ while serving jobs (%r); reconnecting", exc)
                self.disconnect()
                stop_event.wait(self.backoff.next_delay())
        self.disconnect()

    def run_once(self, handler: Callable[[dict], dict | None]) -> DeliveryOutcome | None:
        """Settle one job from the highest-priority non-empty queue; when all are empty,
        wait a little (at most `idle_wait` seconds, keeping the connection alive) and
        return None."""
        channel = self._require_channel()
        assert self.connection is not None
        for queue in self.queues:
            method, properties, body = channel.basic_get(queue=queue, auto_ack=False)
            if method is not None:
                processor = DeliveryProcessor(self.connection, channel, queue, self.policy)
                outcome = processor.process(method, properties, body, handler)
                self.stats.record(outcome)
                self._next_wait = FIRST_IDLE_WAIT
                return outcome
        wait = min(self._next_wait, self.idle_wait)
        self._next_wait = wait * 2
        self.connection.process_data_events(time_limit=wait)
        return None
