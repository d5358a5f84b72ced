"""Fixtures for synmanager tests: one private RabbitMQ broker per session, clean queues per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from synergos_testing.local_broker import RabbitBroker, running_broker
from tests.manager.helpers import reset_queues


@pytest.fixture(scope="session")
def rabbitmq_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitBroker]:
    """A loopback RabbitMQ node shared by the whole test session."""
    with running_broker(tmp_path_factory.mktemp("rabbitmq")) as broker:
        yield broker


@pytest.fixture
def broker(rabbitmq_broker: RabbitBroker) -> RabbitBroker:
    """The session broker with the SynCluster topology declared and every queue empty."""
    reset_queues(rabbitmq_broker)
    return rabbitmq_broker
