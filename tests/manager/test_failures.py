"""Bounded retries, dead-lettering and failure reports (never an endless requeue)."""

from __future__ import annotations

import pytest

from synmanager import (
    CompletedConsumerOperator,
    CompletedProducerOperator,
    EvaluateConsumerOperator,
    TrainConsumerOperator,
    TrainProducerOperator,
)
from synmanager.messages import ATTEMPTS_HEADER, ERROR_HEADER, SOURCE_QUEUE_HEADER
from tests.manager.helpers import (
    publish_raw,
    ready_count,
    running_in_thread,
    take_messages,
    wait_until,
)

pytestmark = pytest.mark.integration


def _address(broker) -> dict:
    return {"host": broker.host, "port": broker.amqp_port}


def test_failing_job_is_retried_then_dead_lettered_and_reported_failed(broker) -> None:
    with TrainProducerOperator(**_address(broker)) as producer:
        sent = producer.process(keys={"project_id": "p", "expt_id": "e", "run_id": "r"})
    calls: list[dict] = []

    def explode(message: dict) -> dict:
        calls.append(message)
        raise ValueError(f"boom #{len(calls)}")

    with TrainConsumerOperator(**_address(broker), max_attempts=3) as consumer:
        statuses = [consumer.poll_message(explode).status for _ in range(3)]
        assert consumer.poll_message(explode) is None  # nothing left to redeliver
    assert statuses == ["retried", "retried", "dead_lettered"]
    assert calls == [sent, sent, sent]

    [(properties, dead)] = take_messages(broker, "dead_letter", 1)
    assert dead == sent
    assert properties.headers[ATTEMPTS_HEADER] == 3
    assert properties.headers[SOURCE_QUEUE_HEADER] == "train"
    assert properties.headers[ERROR_HEADER] == "ValueError: boom #3"
    assert properties.delivery_mode == 2

    [(_, report)] = take_messages(broker, "completed", 1)
    assert report == {"process": "train", "job_id": sent["job_id"], "status": "failed",
                      "error": "ValueError: boom #3", "attempts": 3, "queue": "train",
                      "keys": sent["keys"]}
    assert ready_count(broker, "train") == 0


def test_attempt_count_survives_across_consumers(broker) -> None:
    with TrainProducerOperator(**_address(broker)) as producer:
        producer.process()
    for expected in ("retried", "retried", "dead_lettered"):
        # A fresh consumer each time: the count lives in the message, not in a consumer.
        with TrainConsumerOperator(**_address(broker), max_attempts=3) as consumer:
            assert consumer.poll_message(lambda m: 1 / 0).status == expected
    assert ready_count(broker, "dead_letter") == 1


def test_undecodable_message_is_dead_lettered_at_once(broker) -> None:
    publish_raw(broker, "evaluate", b"\x80not json", headers={ATTEMPTS_HEADER: "junk"})
    ran: list[dict] = []
    with EvaluateConsumerOperator(**_address(broker)) as consumer:
        outcome = consumer.poll_message(ran.append)
    assert ran == [] and outcome.status == "dead_lettered"
    [(_, report)] = take_messages(broker, "completed", 1)
    assert report["status"] == "failed" and "not UTF-8 JSON" in report["error"]
    assert ready_count(broker, "dead_letter") == 1
    assert ready_count(broker, "evaluate") == 0


def test_unserialisable_result_counts_as_a_failed_attempt(broker) -> None:
    with TrainProducerOperator(**_address(broker)) as producer:
        producer.process()
    with TrainConsumerOperator(**_address(broker), max_attempts=1) as consumer:
        outcome = consumer.poll_message(lambda m: {"model": object()})
    assert outcome.status == "dead_lettered"
    [(_, report)] = take_messages(broker, "completed", 1)
    assert report["status"] == "failed" and "not JSON serialisable" in report["error"]


def test_completed_callback_raising_is_retried_then_dead_lettered(broker) -> None:
    with CompletedProducerOperator(**_address(broker)) as producer:
        sent = producer.process(process="validate", job_id="j-9", status="succeeded")
    calls: list[dict] = []

    def archive(message: dict) -> None:
        calls.append(message)
        raise RuntimeError("archive is read-only")

    consumer = CompletedConsumerOperator(**_address(broker), max_attempts=2)
    with running_in_thread(lambda stop: consumer.listen_message(archive, stop)):
        wait_until(lambda: ready_count(broker, "dead_letter") == 1, what="dead letter")
    assert calls == [sent, sent]
    assert consumer.stats.retried == 1 and consumer.stats.dead_lettered == 1
    # No failure report for a completed message: that would loop back into `completed`.
    assert ready_count(broker, "completed") == 0
    [(properties, dead)] = take_messages(broker, "dead_letter", 1)
    assert dead == sent and properties.headers[SOURCE_QUEUE_HEADER] == "completed"
