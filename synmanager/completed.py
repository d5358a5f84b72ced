"""Producer and consumer of the `completed` queue (job results and failure reports)."""

from __future__ import annotations

from synmanager.consumer import ConsumerOperator
from synmanager.producer import ProducerOperator
from synmanager.topology import COMPLETED_QUEUE


class CompletedProducerOperator(ProducerOperator):
    """Publishes a completed message (`{"process", "job_id", "status", ...}`) as given."""

    queue = COMPLETED_QUEUE
    assigns_job_id = False


class CompletedConsumerOperator(ConsumerOperator):
    """Runs `callback(message)` for each completed message and acks after it returns; a
    callback that keeps raising gets its message dead-lettered (never requeued forever)."""

    queue = COMPLETED_QUEUE
    publishes_results = False
