"""The cluster TTP's PriorityConsumer: priority order, long jobs, crash safety."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pika
import pika.exceptions
import pytest

from synmanager import (
    EvaluateProducerOperator,
    PreprocessProducerOperator,
    PriorityConsumer,
    TrainProducerOperator,
)
from tests.manager.helpers import ready_count, running_in_thread, take_messages, wait_until

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def _address(broker) -> dict:
    return {"host": broker.host, "port": broker.amqp_port}


def test_jobs_are_taken_preprocess_then_train_then_evaluate(broker) -> None:
    with EvaluateProducerOperator(**_address(broker)) as evaluate, \
            TrainProducerOperator(**_address(broker)) as train, \
            PreprocessProducerOperator(**_address(broker)) as preprocess:
        evaluate.process(process="validate")
        train.process(process="train")
        evaluate.process(process="predict")
        preprocess.process(process="preprocess")
    order: list[str] = []
    consumer = PriorityConsumer(broker.host, broker.amqp_port)
    with consumer:
        for _ in range(4):
            consumer.run_once(lambda message: order.append(message["process"]) or {})
        started = time.monotonic()
        assert consumer.run_once(lambda message: {}) is None  # all empty: a short wait
        assert time.monotonic() - started < 1.0
    assert order == ["preprocess", "train", "validate", "predict"]
    reports = [report for _, report in take_messages(broker, "completed", 4)]
    assert [r["process"] for r in reports] == order
    assert all(r["status"] == "succeeded" for r in reports)


def test_long_job_keeps_heartbeats_and_is_acked_exactly_once(broker) -> None:
    with TrainProducerOperator(**_address(broker)) as producer:
        sent = producer.process(keys={"project_id": "p"})
    finished: list[float] = []

    def five_second_job(message: dict) -> dict:
        time.sleep(5)
        finished.append(time.monotonic())
        return {"outputs": {"rounds": 1}}

    consumer = PriorityConsumer(broker.host, broker.amqp_port, heartbeat=1)
    with running_in_thread(lambda stop: consumer.run(five_second_job, stop)):
        [(_, report)] = take_messages(broker, "completed", 1, timeout=15)
        wait_until(lambda: consumer.stats.succeeded == 1, what="ack")
        assert consumer.is_connected
    assert report["job_id"] == sent["job_id"] and report["outputs"] == {"rounds": 1}
    assert finished and consumer.stats.reconnects == 0
    assert (consumer.stats.retried, consumer.stats.dead_lettered) == (0, 0)
    # Acked once: nothing redelivered after the consumer closed, no second report.
    assert ready_count(broker, "train") == 0
    assert ready_count(broker, "completed") == 0


def test_blocking_the_connection_thread_would_lose_it(broker) -> None:
    """Control for the test above: the same 1 s heartbeat without pumping dies."""
    connection = pika.BlockingConnection(broker.connection_parameters(heartbeat=1))
    time.sleep(4)  # the broker drops a client silent for ~2 heartbeats
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        connection.process_data_events(time_limit=0.5)
        connection.channel()


def test_killed_consumer_never_acks_and_the_job_is_redelivered(broker, tmp_path) -> None:
    with TrainProducerOperator(**_address(broker)) as producer:
        sent = producer.process(keys={"project_id": "p"})
    marker = tmp_path / "started"
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("consumer_process.py")), broker.host,
         str(broker.amqp_port), str(marker)],
        cwd=REPO_ROOT, start_new_session=True,
    )
    try:
        wait_until(marker.exists, timeout=20, what="the subprocess to start the job")
    finally:
        process.kill()
        process.wait(timeout=10)
    assert marker.read_text() == sent["job_id"]

    handled: list[dict] = []
    consumer = PriorityConsumer(broker.host, broker.amqp_port)
    with consumer:
        outcomes = []
        deadline = time.monotonic() + 10
        while not handled and time.monotonic() < deadline:
            outcome = consumer.run_once(lambda m: handled.append(m) or {"outputs": "second"})
            if outcome is not None:
                outcomes.append(outcome.status)
    assert handled == [sent]
    # The interrupted delivery counts as one attempt (a job that crashes its consumer cannot
    # loop forever), then the job runs to completion.
    assert outcomes == ["retried", "succeeded"]
    [(_, report)] = take_messages(broker, "completed", 1)
    assert report["outputs"] == "second" and report["job_id"] == sent["job_id"]
    assert ready_count(broker, "completed") == 0
    assert ready_count(broker, "train") == 0
