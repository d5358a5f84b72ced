"""Producer and consumer of the `preprocess` queue (alignment jobs)."""

from __future__ import annotations

from synmanager.consumer import ConsumerOperator
from synmanager.producer import ProducerOperator
from synmanager.topology import PREPROCESS_QUEUE


class PreprocessProducerOperator(ProducerOperator):
    """Publishes preprocess (alignment) jobs to the `preprocess` queue."""

    queue = PREPROCESS_QUEUE


class PreprocessConsumerOperator(ConsumerOperator):
    """Consumes preprocess (alignment) jobs; results go to `completed`, then the ack."""

    queue = PREPROCESS_QUEUE
