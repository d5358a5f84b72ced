"""Producer and consumer of the `train` queue (train and optimize jobs)."""

from __future__ import annotations

from synmanager.consumer import ConsumerOperator
from synmanager.producer import ProducerOperator
from synmanager.topology import TRAIN_QUEUE


class TrainProducerOperator(ProducerOperator):
    """Publishes train and optimize jobs to the `train` queue."""

    queue = TRAIN_QUEUE


class TrainConsumerOperator(ConsumerOperator):
    """Consumes train and optimize jobs; results go to `completed`, then the ack."""

    queue = TRAIN_QUEUE
