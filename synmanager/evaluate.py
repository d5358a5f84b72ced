"""Producer and consumer of the `evaluate` queue (validate and predict jobs)."""

from __future__ import annotations

from synmanager.consumer import ConsumerOperator
from synmanager.producer import ProducerOperator
from synmanager.topology import EVALUATE_QUEUE


class EvaluateProducerOperator(ProducerOperator):
    """Publishes validate and predict jobs to the `evaluate` queue."""

    queue = EVALUATE_QUEUE


class EvaluateConsumerOperator(ConsumerOperator):
    """Consumes validate and predict jobs; results go to `completed`, then the ack."""

    queue = EVALUATE_QUEUE
