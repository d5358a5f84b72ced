"""Consumers and producers survive a broker restart: they reconnect and keep serving."""

from __future__ import annotations

import threading
import time

import pytest

from synmanager import (
    BrokerAuthenticationError,
    BrokerUnavailableError,
    PreprocessProducerOperator,
    PriorityConsumer,
    TrainConsumerOperator,
    TrainProducerOperator,
)
from tests.manager.helpers import running_in_thread, take_messages
from tests.support.processes import free_port

pytestmark = pytest.mark.integration


def test_consumers_and_producers_keep_working_across_a_broker_restart(broker) -> None:
    address = {"host": broker.host, "port": broker.amqp_port, "max_reconnect_delay": 1.0}
    listener = TrainConsumerOperator(**address)
    prioritised = PriorityConsumer(queues=("preprocess",), **address)

    def echo(message: dict) -> dict:
        return {"outputs": message["parameters"]["n"]}

    with running_in_thread(lambda stop: listener.listen_message(echo, stop)), \
            running_in_thread(lambda stop: prioritised.run(echo, stop)), \
            TrainProducerOperator(**address) as train, \
            PreprocessProducerOperator(**address) as preprocess:
        train.process(parameters={"n": 1})
        preprocess.process(parameters={"n": 1})
        before = {(r["process"], r["outputs"]) for _, r in take_messages(broker, "completed", 2)}

        broker.restart()

        # The producers' connections died with the broker: process() reconnects by itself.
        train.process(parameters={"n": 2})
        preprocess.process(parameters={"n": 2})
        after = {(r["process"], r["outputs"])
                 for _, r in take_messages(broker, "completed", 2, timeout=30)}

    assert before == {("train", 1), ("preprocess", 1)}
    assert after == {("train", 2), ("preprocess", 2)}
    assert listener.stats.reconnects >= 1 and prioritised.stats.reconnects >= 1
    assert listener.stats.succeeded == 2 and prioritised.stats.succeeded == 2


def test_unreachable_broker_fails_with_a_clear_error() -> None:
    port = free_port()  # nothing listens there
    producer = TrainProducerOperator(host="127.0.0.1", port=port, connect_attempts=2,
                                     max_reconnect_delay=0.1)
    with pytest.raises(BrokerUnavailableError, match=f"127.0.0.1:{port} after 2 attempt"):
        producer.connect()


def test_refused_credentials_fail_at_once(broker) -> None:
    started = time.monotonic()
    consumer = TrainConsumerOperator(host=broker.host, port=broker.amqp_port,
                                     password="wrong", connect_attempts=5)
    with pytest.raises(BrokerAuthenticationError, match="refused user 'guest'"):
        consumer.connect()
    stop = threading.Event()
    with pytest.raises(BrokerAuthenticationError):  # a listener does not retry forever either
        consumer.listen_message(lambda message: {}, stop)
    assert time.monotonic() - started < 10


def test_a_broker_name_that_does_not_resolve_is_retried_then_reported() -> None:
    producer = TrainProducerOperator(host="synergos-mq.invalid", port=5672, connect_attempts=2,
                                     max_reconnect_delay=0.1)
    with pytest.raises(BrokerUnavailableError,
                       match=r"synergos-mq\.invalid:5672 after 2 attempt.*gaierror"):
        producer.connect()
