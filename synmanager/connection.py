"""Broker connection settings, connecting with retry and backoff, and the errors that mean
"the connection is gone, reconnect"."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass

import pika
import pika.exceptions

from syncommon.backoff import Backoff
from synmanager.errors import BrokerAuthenticationError, BrokerUnavailableError

logger = logging.getLogger(__name__)

# Network failures pika lets through unwrapped: the broker's name not resolving (a re-created
# container, DNS down), refused or reset sockets, timeouts.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (socket.gaierror, socket.herror,
                                                   ConnectionError, TimeoutError)
# Errors after which the connection (or its channel) is unusable and must be re-opened.
CONNECTION_LOST_ERRORS: tuple[type[BaseException], ...] = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.ChannelClosed,
    pika.exceptions.ChannelWrongStateError,
    *NETWORK_ERRORS,
)
_AUTH_ERRORS = (
    pika.exceptions.ProbableAuthenticationError,
    pika.exceptions.ProbableAccessDeniedError,
    pika.exceptions.AuthenticationError,
)


@dataclass(frozen=True)
class BrokerSettings:
    """Where and how to reach RabbitMQ. `heartbeat` is in seconds (0 disables it: don't)."""

    host: str = "localhost"
    port: int = 5672
    username: str = "guest"
    password: str = "guest"
    virtual_host: str = "/"
    heartbeat: int = 60
    blocked_connection_timeout: float = 300.0
    socket_timeout: float = 10.0
    connection_name: str = "synmanager"

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"port must be an integer in 1..65535, not {self.port!r}")
        if not isinstance(self.heartbeat, int) or self.heartbeat < 0:
            raise ValueError(f"heartbeat must be a non-negative integer, not {self.heartbeat!r}")

    def parameters(self) -> pika.ConnectionParameters:
        """pika connection parameters (one attempt; retries are ours)."""
        return pika.ConnectionParameters(
            host=self.host, port=self.port, virtual_host=self.virtual_host,
            credentials=pika.PlainCredentials(self.username, self.password),
            heartbeat=self.heartbeat,
            blocked_connection_timeout=self.blocked_connection_timeout,
            socket_timeout=self.socket_timeout, connection_attempts=1,
            client_properties={"connection_name": self.connection_name},
        )


def open_connection(settings: BrokerSettings, attempts: int | None = 5,
                    backoff: Backoff | None = None,
                    stop_event: threading.Event | None = None) -> pika.BlockingConnection:
    """Open a blocking connection, retrying with backoff.

    `attempts=None` retries until `stop_event` is set. Raises BrokerAuthenticationError at
    once for refused credentials, BrokerUnavailableError when the attempts are spent.
    """
    if attempts is not None and attempts < 1:
        raise ValueError("attempts must be at least 1")
    backoff = backoff or Backoff()
    tried = 0
    while True:
        tried += 1
        try:
            return pika.BlockingConnection(settings.parameters())
        except _AUTH_ERRORS as exc:
            raise BrokerAuthenticationError(
                f"RabbitMQ at {settings.host}:{settings.port} refused user "
                f"{settings.username!r} on vhost {settings.virtual_host!r}: {exc!r}") from exc
        except (pika.exceptions.AMQPConnectionError, *NETWORK_ERRORS) as exc:
            out_of_attempts = attempts is not None and tried >= attempts
            stopping = stop_event is not None and stop_event.is_set()
            if out_of_attempts or stopping:
                raise BrokerUnavailableError(
                    f"cannot reach RabbitMQ at {settings.host}:{settings.port} after {tried} "
                    f"attempt(s): {exc!r}") from exc
            delay = backoff.next_delay()
            logger.warning("RabbitMQ at %s:%s unreachable (%r); retrying in %.2fs",
                           settings.host, settings.port, exc, delay)
            if stop_event is not None:
                stop_event.wait(delay)
            else:
                time.sleep(delay)


def close_quietly(connection: pika.BlockingConnection | None) -> None:
    """Close a connection, ignoring that it may already be closed or broken."""
    if connection is None:
        return
    try:
        if connection.is_open:
            connection.close()
    except Exception:  # closing a broken connection must never raise
        logger.debug("ignored error while closing a RabbitMQ connection", exc_info=True)
