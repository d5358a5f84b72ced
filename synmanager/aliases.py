"""The seeds' operator names: a producer and a consumer bound to each SynCluster queue.

`TrainProducerOperator(host, port)` is `ProducerOperator(host, port, queue="train")`, and so
on for `preprocess` (alignment jobs), `train` (train, optimize and contribute jobs),
`evaluate` (validate and predict jobs) and `completed` (results and failure reports).
"""

from __future__ import annotations

from synmanager.consumer import ConsumerOperator
from synmanager.producer import ProducerOperator
from synmanager.topology import COMPLETED_QUEUE, EVALUATE_QUEUE, PREPROCESS_QUEUE, TRAIN_QUEUE


class PreprocessProducerOperator(ProducerOperator):
    """Publishes alignment jobs to `preprocess`."""

    default_queue = PREPROCESS_QUEUE


class PreprocessConsumerOperator(ConsumerOperator):
    """Consumes alignment jobs from `preprocess`."""

    default_queue = PREPROCESS_QUEUE


class TrainProducerOperator(ProducerOperator):
    """Publishes train, optimize and contribute jobs to `train`."""

    default_queue = TRAIN_QUEUE


class TrainConsumerOperator(ConsumerOperator):
    """Consumes jobs from `train`."""

    default_queue = TRAIN_QUEUE


class EvaluateProducerOperator(ProducerOperator):
    """Publishes validate and predict jobs to `evaluate`."""

    default_queue = EVALUATE_QUEUE


class EvaluateConsumerOperator(ConsumerOperator):
    """Consumes jobs from `evaluate`."""

    default_queue = EVALUATE_QUEUE


class CompletedProducerOperator(ProducerOperator):
    """Publishes results and failure reports to `completed` as given."""

    default_queue = COMPLETED_QUEUE


class CompletedConsumerOperator(ConsumerOperator):
    """Runs a callback for each `completed` message."""

    default_queue = COMPLETED_QUEUE
