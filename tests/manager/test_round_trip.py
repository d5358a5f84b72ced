"""Produce -> consume -> completed for every queue pair, counts, polling and input guards."""

from __future__ import annotations

import statistics
import threading
import time

import pytest

from synmanager import (
    CompletedConsumerOperator,
    CompletedProducerOperator,
    EvaluateConsumerOperator,
    EvaluateProducerOperator,
    InvalidMessageError,
    MessageTooLargeError,
    PreprocessConsumerOperator,
    PreprocessProducerOperator,
    TrainConsumerOperator,
    TrainProducerOperator,
)
from tests.manager.helpers import ready_count, running_in_thread, take_messages, wait_until

pytestmark = pytest.mark.integration

JOB_PAIRS = [
    (PreprocessProducerOperator, PreprocessConsumerOperator, "preprocess", "preprocess"),
    (TrainProducerOperator, TrainConsumerOperator, "train", "optimize"),
    (EvaluateProducerOperator, EvaluateConsumerOperator, "evaluate", "predict"),
]


def _address(broker) -> dict:
    return {"host": broker.host, "port": broker.amqp_port}


@pytest.mark.parametrize(("producer_cls", "consumer_cls", "queue", "process"), JOB_PAIRS)
def test_job_round_trip_is_persistent_and_reports_completion(
        broker, producer_cls, consumer_cls, queue, process) -> None:
    with producer_cls(**_address(broker)) as producer:
        probe = producer.process(process=process, keys={"project_id": "p"})
        sent = producer.process(process=process, keys={"project_id": "p"}, grids=[[]],
                                parameters={"n": 1})
    assert sent["process"] == process and isinstance(sent["job_id"], str)
    assert sent != probe and sent["job_id"] != probe["job_id"]

    [(properties, body)] = take_messages(broker, queue, 1)  # the probe, as stored
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.message_id == probe["job_id"]
    assert body == probe

    seen: list[dict] = []
    consumer = consumer_cls(**_address(broker))

    def handler(message: dict) -> dict:
        seen.append(message)
        return {"outputs": {"echo": message["parameters"]["n"]}}

    with running_in_thread(lambda stop: consumer.listen_message(handler, stop)):
        [(properties, report)] = take_messages(broker, "completed", 1)
    assert seen == [sent]
    assert properties.delivery_mode == 2
    assert report == {"process": process, "job_id": sent["job_id"], "status": "succeeded",
                      "keys": {"project_id": "p"}, "outputs": {"echo": 1}}
    assert ready_count(broker, queue) == 0  # acked: nothing comes back after disconnect
    assert consumer.stats.succeeded == 1


def test_completed_round_trip_runs_callback_and_acks(broker) -> None:
    with CompletedProducerOperator(**_address(broker)) as producer:
        sent = producer.process(process="train", job_id="j-1", status="succeeded",
                                outputs={"loss": 0.5})
    received: list[dict] = []
    consumer = CompletedConsumerOperator(**_address(broker))
    with running_in_thread(lambda stop: consumer.listen_message(received.append, stop)):
        wait_until(lambda: received, what="completed callback")
    assert received == [sent]
    assert ready_count(broker, "completed") == 0  # acked, and no result re-published
    assert ready_count(broker, "dead_letter") == 0


def test_check_message_count_counts_ready_jobs(broker) -> None:
    with TrainProducerOperator(**_address(broker)) as producer:
        for _ in range(3):
            producer.process(keys={"project_id": "p"})
    with TrainConsumerOperator(**_address(broker)) as consumer:
        assert consumer.check_message_count() == 3
    with EvaluateConsumerOperator(**_address(broker)) as other:
        assert other.check_message_count() == 0


def test_poll_message_acks_on_success_with_seeds_callback(broker) -> None:
    producer = PreprocessProducerOperator(host=broker.host, port=broker.amqp_port)
    producer.connect()
    sent = producer.process(project_id="test_project")  # the seeds' example
    producer.disconnect()
    assert sent["process"] == "preprocess"

    calls: list[tuple[dict, str]] = []

    def perform_action(kwargs, host):  # the seeds' callback signature
        calls.append((kwargs, host))
        return True

    consumer = PreprocessConsumerOperator(host=broker.host, port=broker.amqp_port)
    consumer.connect()
    outcome = consumer.poll_message(perform_action)
    assert outcome is not None and outcome.status == "succeeded"
    assert calls == [(sent, broker.host)]
    assert consumer.poll_message(perform_action) is None  # empty queue
    consumer.disconnect()
    assert ready_count(broker, "preprocess") == 0  # acked, not requeued on disconnect
    [(_, report)] = take_messages(broker, "completed", 1)
    assert report["outputs"] is True and report["job_id"] == sent["job_id"]


def test_producer_rejects_bad_input_with_clear_errors(broker) -> None:
    with TrainProducerOperator(**_address(broker), max_message_bytes=1024) as producer:
        with pytest.raises(InvalidMessageError, match=r"'validate'.*'train' queue"):
            producer.process(process="validate")
        with pytest.raises(MessageTooLargeError, match=r"over the 1024-byte limit"):
            producer.process(parameters={"blob": "x" * 2000})
        with pytest.raises(InvalidMessageError, match="not JSON serialisable"):
            producer.process(parameters={"model": object()})
        with pytest.raises(InvalidMessageError, match="job_id"):
            producer.process(job_id=7)
    assert ready_count(broker, "train") == 0


def test_consumer_dead_letters_oversized_message_without_running_it(broker) -> None:
    with TrainProducerOperator(**_address(broker)) as producer:
        sent = producer.process(parameters={"blob": "x" * 4096})
    ran: list[dict] = []
    with TrainConsumerOperator(**_address(broker), max_message_bytes=1024) as consumer:
        outcome = consumer.poll_message(ran.append)
    assert ran == [] and outcome is not None and outcome.status == "dead_lettered"
    [(_, report)] = take_messages(broker, "completed", 1)
    assert report["status"] == "failed" and report["job_id"] == sent["job_id"]
    assert "1024-byte limit" in report["error"]
    assert ready_count(broker, "dead_letter") == 1


def test_round_trip_latency_on_loopback(broker, record_property) -> None:
    """publish (confirmed) -> job consumer -> completed -> completed consumer, median of 50."""
    arrivals: dict[str, float] = {}
    arrived = threading.Condition()

    def on_completed(message: dict) -> None:
        with arrived:
            arrivals[message["job_id"]] = time.perf_counter()
            arrived.notify_all()

    job_consumer = TrainConsumerOperator(**_address(broker))
    completed_consumer = CompletedConsumerOperator(**_address(broker))
    latencies: list[float] = []
    with running_in_thread(lambda stop: job_consumer.listen_message(lambda m: {}, stop)), \
            running_in_thread(lambda stop: completed_consumer.listen_message(on_completed, stop)), \
            TrainProducerOperator(**_address(broker)) as producer:
        for _ in range(50):
            started = time.perf_counter()
            job_id = producer.process(keys={"project_id": "p"})["job_id"]
            with arrived:
                assert arrived.wait_for(lambda j=job_id: j in arrivals, timeout=10)
            latencies.append(arrivals[job_id] - started)
    median_ms = statistics.median(latencies) * 1000
    record_property("round_trip_median_ms", round(median_ms, 2))
    print(f"\npublish->consume->completed round trip on loopback: median {median_ms:.1f} ms, "
          f"p90 {statistics.quantiles(latencies, n=10)[-1] * 1000:.1f} ms")
    assert median_ms < 250
