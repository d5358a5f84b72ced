"""The operators declare the whole SynCluster topology on a bare broker, idempotently."""

from __future__ import annotations

import pika
import pika.exceptions
import pytest

from synmanager import EvaluateConsumerOperator, PreprocessProducerOperator
from synmanager.topology import (
    DEAD_LETTER_EXCHANGE,
    FANOUT_EXCHANGE,
    ROUTES,
    TOPIC_EXCHANGE,
)
from tests.manager.helpers import raw_channel, ready_count, reset_queues

pytestmark = pytest.mark.integration


def _delete_topology(broker) -> None:
    with raw_channel(broker) as channel:
        for queue in ROUTES:
            channel.queue_delete(queue)
        for exchange in (TOPIC_EXCHANGE, FANOUT_EXCHANGE, DEAD_LETTER_EXCHANGE):
            channel.exchange_delete(exchange)


def _queue_exists(broker, queue: str) -> bool:
    try:
        with raw_channel(broker) as channel:
            channel.queue_declare(queue=queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker as exc:
        assert exc.reply_code == 404
        return False


def test_topology_declared_from_scratch_and_routes_each_key(rabbitmq_broker) -> None:
    broker = rabbitmq_broker
    _delete_topology(broker)
    assert not _queue_exists(broker, "preprocess")

    producer = PreprocessProducerOperator(host=broker.host, port=broker.amqp_port)
    producer.connect()
    producer.disconnect()

    expected_durable = {"preprocess", "train", "evaluate", "completed", "dead_letter"}
    assert expected_durable <= set(ROUTES)
    with raw_channel(broker) as channel:
        for queue in expected_durable:
            # A passive declare fails on a missing queue; a durable=True re-declare fails
            # (406 PRECONDITION_FAILED) if the queue had been created non-durable.
            channel.queue_declare(queue=queue, durable=True)
        channel.exchange_declare(TOPIC_EXCHANGE, exchange_type="topic", durable=True)
        channel.exchange_declare(FANOUT_EXCHANGE, exchange_type="fanout", durable=True)
        channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
        props = pika.BasicProperties(delivery_mode=2)
        for key in ("SynMQ_topic_preprocess", "SynMQ_topic_train", "SynMQ_topic_evaluate"):
            channel.basic_publish(TOPIC_EXCHANGE, key, b"{}", props)
        channel.basic_publish(FANOUT_EXCHANGE, "anything", b"{}", props)
        channel.basic_publish(TOPIC_EXCHANGE, "SynMQ_topic_train", b"{}", props)

    counts = {queue: ready_count(broker, queue) for queue in expected_durable}
    assert counts == {"preprocess": 1, "train": 2, "evaluate": 1, "completed": 1,
                      "dead_letter": 0}
    reset_queues(broker)


def test_declaring_again_is_idempotent_and_keeps_messages(broker) -> None:
    producer = PreprocessProducerOperator(host=broker.host, port=broker.amqp_port)
    with producer:
        producer.process(project_id="p1")
    consumer = EvaluateConsumerOperator(host=broker.host, port=broker.amqp_port)
    with consumer:  # a second, different operator re-declares everything
        assert consumer.check_message_count() == 0
    assert ready_count(broker, "preprocess") == 1
