"""The connection every operator shares: settings, connect (with retry), topology,
publisher confirms, disconnect."""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

import pika
from pika.adapters.blocking_connection import BlockingChannel

from syncommon.backoff import Backoff
from synmanager.connection import BrokerSettings, close_quietly, open_connection
from synmanager.errors import BrokerUnavailableError
from synmanager.messages import DEFAULT_MAX_MESSAGE_BYTES
from synmanager.topology import declare_topology

logger = logging.getLogger(__name__)


class BaseOperator:
    """Owns one blocking connection and one confirm-mode channel with the SynCluster topology
    declared. Not thread-safe: use an operator from one thread only."""

    prefetch_count: ClassVar[int | None] = None

    def __init__(self, host: str = "localhost", port: int = 5672, username: str = "guest",
                 password: str = "guest", *, virtual_host: str = "/", heartbeat: int = 60,
                 connect_attempts: int = 5, max_reconnect_delay: float = 10.0,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                 connection_name: str | None = None) -> None:
        if max_message_bytes < 1:
            raise ValueError("max_message_bytes must be positive")
        if connect_attempts < 1:
            raise ValueError("connect_attempts must be at least 1")
        if max_reconnect_delay <= 0:
            raise ValueError("max_reconnect_delay must be positive")
        self.settings = BrokerSettings(
            host=host, port=port, username=username, password=password,
            virtual_host=virtual_host, heartbeat=heartbeat,
            connection_name=connection_name or type(self).__name__,
        )
        self.connect_attempts = connect_attempts
        self.max_message_bytes = max_message_bytes
        self.backoff = Backoff(maximum=max_reconnect_delay)
        self.connection: pika.BlockingConnection | None = None
        self.channel: BlockingChannel | None = None

    @property
    def host(self) -> str:
        """The broker's host name or address."""
        return self.settings.host

    @property
    def port(self) -> int:
        """The broker's AMQP port."""
        return self.settings.port

    @property
    def is_connected(self) -> bool:
        """Whether the connection and channel are open."""
        return bool(self.connection and self.connection.is_open
                    and self.channel and self.channel.is_open)

    def connect(self) -> None:
        """Connect (up to `connect_attempts` tries with backoff), enable publisher confirms and
        declare the topology. No-op when already connected."""
        self._open(self.connect_attempts, None)

    def connect_until(self, stop_event: threading.Event) -> bool:
        """Connect, retrying with backoff until it works or `stop_event` is set (then False).
        Refused credentials raise BrokerAuthenticationError at once."""
        try:
            self._open(None, stop_event)
        except BrokerUnavailableError:
            if stop_event.is_set():
                return False
            raise
        return True

    def _open(self, attempts: int | None, stop_event: threading.Event | None) -> None:
        if self.is_connected:
            return
        self.disconnect()
        connection = open_connection(self.settings, attempts, self.backoff, stop_event)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            declare_topology(channel)
            if self.prefetch_count is not None:
                channel.basic_qos(prefetch_count=self.prefetch_count)
        except BaseException:
            close_quietly(connection)
            raise
        self.connection, self.channel = connection, channel
        self.backoff.reset()
        logger.debug("connected to RabbitMQ at %s:%s", self.host, self.port)

    def disconnect(self) -> None:
        """Close the connection (safe to call at any time, also when it is already broken)."""
        connection, self.connection, self.channel = self.connection, None, None
        close_quietly(connection)

    def _require_channel(self) -> BlockingChannel:
        if not self.is_connected:
            self.connect()
        assert self.channel is not None
        return self.channel

    def __enter__(self) -> BaseOperator:
        self.connect()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.disconnect()
