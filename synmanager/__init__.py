"""synmanager: RabbitMQ producers and consumers of the SynCluster job queues."""

from __future__ import annotations

from synmanager.completed import CompletedConsumerOperator, CompletedProducerOperator
from synmanager.connection import BrokerSettings
from synmanager.delivery import ConsumerStats, DeliveryOutcome
from synmanager.errors import (
    BrokerAuthenticationError,
    BrokerUnavailableError,
    InvalidMessageError,
    MessageTooLargeError,
    PublishError,
    SynManagerError,
)
from synmanager.evaluate import EvaluateConsumerOperator, EvaluateProducerOperator
from synmanager.preprocess import PreprocessConsumerOperator, PreprocessProducerOperator
from synmanager.priority import PriorityConsumer
from synmanager.train import TrainConsumerOperator, TrainProducerOperator

__all__ = [
    "BrokerAuthenticationError",
    "BrokerSettings",
    "BrokerUnavailableError",
    "CompletedConsumerOperator",
    "CompletedProducerOperator",
    "ConsumerStats",
    "DeliveryOutcome",
    "EvaluateConsumerOperator",
    "EvaluateProducerOperator",
    "InvalidMessageError",
    "MessageTooLargeError",
    "PreprocessConsumerOperator",
    "PreprocessProducerOperator",
    "PriorityConsumer",
    "PublishError",
    "SynManagerError",
    "TrainConsumerOperator",
    "TrainProducerOperator",
]
