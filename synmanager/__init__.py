"""synmanager: RabbitMQ producers and consumers of the SynCluster job queues."""

from __future__ import annotations

from synmanager.aliases import (
    CompletedConsumerOperator,
    CompletedProducerOperator,
    EvaluateConsumerOperator,
    EvaluateProducerOperator,
    PreprocessConsumerOperator,
    PreprocessProducerOperator,
    TrainConsumerOperator,
    TrainProducerOperator,
)
from synmanager.connection import BrokerSettings
from synmanager.consumer import ConsumerOperator
from synmanager.delivery import ConsumerStats, DeliveryOutcome
from synmanager.errors import (
    BrokerAuthenticationError,
    BrokerUnavailableError,
    InvalidMessageError,
    MessageTooLargeError,
    PublishError,
    SynManagerError,
)
from synmanager.priority import PriorityConsumer
from synmanager.producer import ProducerOperator

__all__ = [
    "BrokerAuthenticationError",
    "BrokerSettings",
    "BrokerUnavailableError",
    "CompletedConsumerOperator",
    "CompletedProducerOperator",
    "ConsumerOperator",
    "ConsumerStats",
    "DeliveryOutcome",
    "EvaluateConsumerOperator",
    "EvaluateProducerOperator",
    "InvalidMessageError",
    "MessageTooLargeError",
    "PreprocessConsumerOperator",
    "PreprocessProducerOperator",
    "PriorityConsumer",
    "ProducerOperator",
    "PublishError",
    "SynManagerError",
    "TrainConsumerOperator",
    "TrainProducerOperator",
]
