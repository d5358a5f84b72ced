"""Producers: publish one persistent, confirmed JSON message per `process(**kwargs)`."""

from __future__ import annotations

import logging
import uuid
from typing import Any, ClassVar

from synmanager.base import BaseOperator
from synmanager.connection import CONNECTION_LOST_ERRORS
from synmanager.errors import InvalidMessageError, PublishError
from synmanager.messages import encode_message, message_properties
from synmanager.publishing import publish_body
from synmanager.topology import operator_route

logger = logging.getLogger(__name__)


class ProducerOperator(BaseOperator):
    """Publishes messages to one SynCluster queue (`queue`, or the class's `default_queue`)
    through its exchange and routing key; jobs get a `job_id` unless it is `completed`."""

    default_queue: ClassVar[str | None] = None

    def __init__(self, host: str = "localhost", port: int = 5672, username: str = "guest",
                 password: str = "guest", *, queue: str | None = None,
                 **options: Any) -> None:
        super().__init__(host, port, username, password, **options)
        self.route = operator_route(queue, self.default_queue, type(self).__name__)
        self.queue = self.route.queue

    def prepare(self, message: dict[str, Any]) -> dict[str, Any]:
        """Validate a job and fill in its defaults: `process` (the queue's first kind) and a
        fresh `job_id`. Raises InvalidMessageError naming the offending field."""
        message = dict(message)
        allowed = self.route.processes
        if allowed:
            process = message.setdefault("process", allowed[0])
            if process not in allowed:
                raise InvalidMessageError(
                    f"process {process!r} does not belong on the {self.queue!r} queue; "
                    f"expected one of {list(allowed)}")
        if self.route.carries_jobs:
            job_id = message.setdefault("job_id", uuid.uuid4().hex)
            if not isinstance(job_id, str) or not job_id:
                raise InvalidMessageError(f"job_id must be a non-empty string, not {job_id!r}")
        return message

    def process(self, **kwargs: Any) -> dict[str, Any]:
        """Publish `kwargs` as one job and return the message as published (with its
        `job_id`). Raises PublishError if the broker did not confirm it, InvalidMessageError
        (or MessageTooLargeError) for bad input."""
        message = self.prepare(kwargs)
        body = encode_message(message, self.max_message_bytes)
        properties = message_properties(message.get("job_id"))
        route = self.route
        try:
            publish_body(self._require_channel(), route.exchange, route.routing_key, body,
                         properties)
        except CONNECTION_LOST_ERRORS as exc:
            # The connection went stale (e.g. idle past the heartbeat, or a broker restart):
            # reconnect and publish once more. At worst the job is delivered twice.
            logger.warning("RabbitMQ connection lost while publishing (%r); reconnecting", exc)
            self.disconnect()
            try:
                publish_body(self._require_channel(), route.exchange, route.routing_key, body,
                             properties)
            except CONNECTION_LOST_ERRORS as retry_exc:
                self.disconnect()
                raise PublishError(f"publishing to {self.queue!r} failed: {retry_exc!r}") \
                    from retry_exc
        return message
