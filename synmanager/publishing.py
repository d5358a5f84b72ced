"""Publishing with publisher confirms: broker nacks and unroutable messages become errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from synmanager.errors import PublishError
from synmanager.messages import message_properties


def publish_body(channel: BlockingChannel, exchange: str, routing_key: str, body: bytes,
                 properties: pika.BasicProperties) -> None:
    """Publish bytes as a mandatory message on a confirm-mode channel; raise PublishError if
    the broker nacks it or cannot route it to any queue."""
    try:
        channel.basic_publish(exchange=exchange, routing_key=routing_key, body=body,
                              properties=properties, mandatory=True)
    except pika.exceptions.UnroutableError as exc:
        raise PublishError(
            f"RabbitMQ could not route the message (exchange {exchange!r}, routing key "
            f"{routing_key!r}) to any queue") from exc
    except pika.exceptions.NackError as exc:
        raise PublishError(
            f"RabbitMQ refused the message (exchange {exchange!r}, routing key "
            f"{routing_key!r}); check the broker's resource alarms and logs") from exc


def with_headers(properties: pika.BasicProperties | None,
                 headers: Mapping[str, Any]) -> pika.BasicProperties:
    """Copy of a delivered message's properties (kept persistent) with `headers` merged in."""
    merged = dict((properties.headers if properties else None) or {})
    merged.update(headers)
    copied = message_properties(properties.message_id if properties else None, merged)
    if properties is not None:
        copied.content_type = properties.content_type or copied.content_type
        copied.timestamp = properties.timestamp or copied.timestamp
    return copied
