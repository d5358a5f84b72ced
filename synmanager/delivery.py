"""Settling one delivered message: run the handler, publish its result to `completed`, then
ack; on failure retry a bounded number of times, then dead-letter and report it failed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from synmanager.errors import InvalidMessageError
from synmanager.heartbeat import run_with_heartbeats
from synmanager.messages import (
    ATTEMPTS_HEADER,
    DEFAULT_MAX_MESSAGE_BYTES,
    ERROR_HEADER,
    SOURCE_QUEUE_HEADER,
    attempts_of,
    decode_message,
    describe_error,
    encode_message,
    failure_report,
    message_properties,
    success_report,
)
from synmanager.publishing import publish_body, with_headers
from synmanager.topology import COMPLETED_QUEUE, DEAD_LETTER_EXCHANGE, FANOUT_EXCHANGE

logger = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
RETRIED = "retried"
DEAD_LETTERED = "dead_lettered"
INTERRUPTED_ERROR = "delivery interrupted: the consumer was lost before acknowledging it"

Handler = Callable[[dict], Any]


@dataclass(frozen=True)
class DeliveryPolicy:
    """How a consumer settles messages. Job queues publish results and failure reports to
    `completed`; the completed queue itself does neither."""

    max_attempts: int = 3
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    publish_results: bool = True
    report_failures: bool = True
    count_redeliveries: bool = True
    poll_interval: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, not {self.max_attempts!r}")
        if self.max_message_bytes < 1:
            raise ValueError("max_message_bytes must be positive")


@dataclass
class DeliveryOutcome:
    """How one delivery was settled: `succeeded`, `retried` or `dead_lettered`."""

    status: str
    queue: str
    message: dict | None
    attempts: int
    report: dict | None = None
    error: str | None = None


@dataclass
class ConsumerStats:
    """Running counts of how a consumer settled its deliveries, and how often it reconnected."""

    succeeded: int = 0
    retried: int = 0
    dead_lettered: int = 0
    reconnects: int = 0

    def record(self, outcome: DeliveryOutcome) -> None:
        """Count one settled delivery."""
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)


class DeliveryProcessor:
    """Settles deliveries of one queue on one connection (all calls on its thread)."""

    def __init__(self, connection: pika.BlockingConnection, channel: BlockingChannel,
                 queue: str, policy: DeliveryPolicy,
                 before_ack: Callable[[], None] | None = None) -> None:
        self.connection = connection
        self.channel = channel
        self.queue = queue
        self.policy = policy
        # Runs just before each ack: a stopping push consumer cancels itself there, so the
        # broker does not hand it (and mark redelivered) the next message.
        self.before_ack = before_ack

    def process(self, method: Any, properties: pika.BasicProperties | None, body: bytes | None,
                handler: Handler) -> DeliveryOutcome:
        """Run `handler(message)` for one delivery and settle it (ack exactly once)."""
        attempts = attempts_of(properties)
        try:
            message = decode_message(body, self.policy.max_message_bytes)
        except InvalidMessageError as exc:
            return self._dead_letter(method, properties, body, None, attempts, describe_error(exc))
        if method.redelivered and self.policy.count_redeliveries:
            return self._failed_attempt(method, properties, body, message, attempts,
                                        INTERRUPTED_ERROR)
        outcome = run_with_heartbeats(self.connection, lambda: handler(message),
                                      self.policy.poll_interval, name=f"synmanager-{self.queue}")
        report = None
        if outcome.error is None and self.policy.publish_results:
            try:
                report = success_report(message, outcome.value)
                self._publish_completed(report)
            except InvalidMessageError as exc:
                outcome.error = exc
        if outcome.error is not None:
            logger.warning("job from %s failed (attempt %d of %d): %s", self.queue,
                           attempts + 1, self.policy.max_attempts, describe_error(outcome.error))
            return self._failed_attempt(method, properties, body, message, attempts,
                                        describe_error(outcome.error))
        self._ack(method)
        return DeliveryOutcome(SUCCEEDED, self.queue, message, attempts, report=report)

    def _failed_attempt(self, method: Any, properties: pika.BasicProperties | None,
                        body: bytes | None, message: dict, attempts: int,
                        error: str) -> DeliveryOutcome:
        attempts += 1
        if attempts >= self.policy.max_attempts:
            return self._dead_letter(method, properties, body, message, attempts, error)
        # Republish straight to this queue (default exchange) with the new count, then ack
        # the delivery: the count survives, unlike a requeue.
        headers = {ATTEMPTS_HEADER: attempts, ERROR_HEADER: error}
        publish_body(self.channel, "", self.queue, body or b"", with_headers(properties, headers))
        self._ack(method)
        return DeliveryOutcome(RETRIED, self.queue, message, attempts, error=error)

    def _dead_letter(self, method: Any, properties: pika.BasicProperties | None,
                     body: bytes | None, message: dict | None, attempts: int,
                     error: str) -> DeliveryOutcome:
        logger.error("dead-lettering a message from %s after %d attempt(s): %s",
                     self.queue, attempts, error)
        headers = {ATTEMPTS_HEADER: attempts, ERROR_HEADER: error, SOURCE_QUEUE_HEADER: self.queue}
        publish_body(self.channel, DEAD_LETTER_EXCHANGE, self.queue, body or b"",
                     with_headers(properties, headers))
        report = None
        if self.policy.report_failures:
            report = failure_report(message, error, attempts, self.queue, properties)
            try:
                self._publish_completed(report)
            except InvalidMessageError:  # huge `keys`: the identity and error still get out
                report.pop("keys", None)
                self._publish_completed(report)
        self._ack(method)
        return DeliveryOutcome(DEAD_LETTERED, self.queue, message, attempts, report=report,
                               error=error)

    def _ack(self, method: Any) -> None:
        if self.before_ack is not None:
            self.before_ack()
        self.channel.basic_ack(delivery_tag=method.delivery_tag)

    def _publish_completed(self, report: dict) -> None:
        body = encode_message(report, self.policy.max_message_bytes)
        publish_body(self.channel, FANOUT_EXCHANGE, COMPLETED_QUEUE, body,
                     message_properties(report.get("job_id")))
