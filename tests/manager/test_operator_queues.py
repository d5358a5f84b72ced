"""An operator's queue is a constructor argument; the seeds' class names bind one each."""

from __future__ import annotations

import pytest

from synmanager import (
    CompletedConsumerOperator,
    CompletedProducerOperator,
    ConsumerOperator,
    ProducerOperator,
    TrainConsumerOperator,
    TrainProducerOperator,
)


def test_the_queue_is_a_constructor_argument_and_aliases_bind_it() -> None:
    producer = ProducerOperator("127.0.0.1", 5672, queue="train")
    assert producer.queue == TrainProducerOperator("127.0.0.1", 5672).queue == "train"
    assert producer.route == TrainProducerOperator().route
    assert ConsumerOperator(queue="evaluate").queue == "evaluate"
    assert TrainConsumerOperator().queue == "train"


def test_jobs_get_ids_and_results_but_completed_messages_do_not() -> None:
    assert "job_id" in ProducerOperator(queue="train").prepare({"process": "train"})
    assert CompletedProducerOperator().prepare({"status": "ok"}) == {"status": "ok"}
    assert TrainConsumerOperator().policy.publish_results
    assert TrainConsumerOperator().policy.report_failures
    completed = CompletedConsumerOperator()
    assert not completed.policy.publish_results and not completed.policy.report_failures


@pytest.mark.parametrize("operator", [ProducerOperator, ConsumerOperator])
def test_a_missing_or_unknown_queue_is_named(operator: type) -> None:
    with pytest.raises(TypeError, match=f"{operator.__name__} needs a queue"):
        operator("127.0.0.1", 5672)
    with pytest.raises(ValueError, match="unknown queue 'trian'"):
        operator("127.0.0.1", 5672, queue="trian")
