"""Exchange, queue and routing-key names of SynCluster, and their idempotent declaration."""

from __future__ import annotations

from dataclasses import dataclass

from pika.adapters.blocking_connection import BlockingChannel

TOPIC_EXCHANGE = "SynMQ_topic_logs"
FANOUT_EXCHANGE = "SynMQ_fanout_logs"
DEAD_LETTER_EXCHANGE = "SynMQ_dead_letter_logs"

PREPROCESS_QUEUE = "preprocess"
TRAIN_QUEUE = "train"
EVALUATE_QUEUE = "evaluate"
COMPLETED_QUEUE = "completed"
DEAD_LETTER_QUEUE = "dead_letter"

JOB_QUEUES_BY_PRIORITY = (PREPROCESS_QUEUE, TRAIN_QUEUE, EVALUATE_QUEUE)


@dataclass(frozen=True)
class QueueRoute:
    """Where a queue's messages are published: exchange + routing key, and which
    `process` values a job on it may carry (empty: any)."""

    queue: str
    exchange: str
    exchange_type: str
    routing_key: str
    processes: tuple[str, ...] = ()

    @property
    def carries_jobs(self) -> bool:
        """A job queue: its messages are jobs with a `job_id` whose results are published."""
        return bool(self.processes)


ROUTES: dict[str, QueueRoute] = {
    PREPROCESS_QUEUE: QueueRoute(PREPROCESS_QUEUE, TOPIC_EXCHANGE, "topic",
                                 "SynMQ_topic_preprocess", ("preprocess",)),
    TRAIN_QUEUE: QueueRoute(TRAIN_QUEUE, TOPIC_EXCHANGE, "topic",
                            "SynMQ_topic_train", ("train", "optimize", "contribute")),
    EVALUATE_QUEUE: QueueRoute(EVALUATE_QUEUE, TOPIC_EXCHANGE, "topic",
                               "SynMQ_topic_evaluate", ("validate", "predict")),
    COMPLETED_QUEUE: QueueRoute(COMPLETED_QUEUE, FANOUT_EXCHANGE, "fanout",
                                "SynMQ_fanout_completed"),
    DEAD_LETTER_QUEUE: QueueRoute(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, "fanout",
                                  "SynMQ_dead_letter"),
}


def route_for(queue: str) -> QueueRoute:
    """The route of a SynCluster queue; a clear error for an unknown name."""
    try:
        return ROUTES[queue]
    except KeyError:
        raise ValueError(f"unknown queue {queue!r}; expected one of {sorted(ROUTES)}") from None


def operator_route(queue: str | None, default: str | None, operator: str) -> QueueRoute:
    """The route of `queue`, else of the operator class's default queue; a clear error when
    neither names one."""
    chosen = queue if queue is not None else default
    if chosen is None:
        raise TypeError(f"{operator} needs a queue, one of {sorted(ROUTES)}")
    return route_for(chosen)


def declare_topology(channel: BlockingChannel) -> None:
    """Declare every exchange, durable queue and binding; safe to repeat (idempotent).

    Queues carry no broker-side arguments, so brokers pre-configured with Synergos 1's
    `definitions.json` (plain durable classic queues) stay compatible.
    """
    exchanges = {(route.exchange, route.exchange_type) for route in ROUTES.values()}
    for exchange, exchange_type in sorted(exchanges):
        channel.exchange_declare(exchange=exchange, exchange_type=exchange_type, durable=True)
    for route in ROUTES.values():
        channel.queue_declare(queue=route.queue, durable=True)
        channel.queue_bind(queue=route.queue, exchange=route.exchange,
                           routing_key=route.routing_key)
