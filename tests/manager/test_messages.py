"""Pure-logic checks of the wire format, reports, backoff and settings (no broker)."""

from __future__ import annotations

import datetime as dt
import json

import pika
import pytest

from syncommon.backoff import Backoff
from synmanager.connection import BrokerSettings
from synmanager.consumer import adapt_callback
from synmanager.delivery import DeliveryPolicy
from synmanager.errors import InvalidMessageError, MessageTooLargeError
from synmanager.messages import (
    ATTEMPTS_HEADER,
    attempts_of,
    decode_message,
    describe_error,
    encode_message,
    failure_report,
    success_report,
)
from synmanager.priority import PriorityConsumer
from synmanager.topology import route_for


def test_encode_decode_round_trip_with_datetimes() -> None:
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    body = encode_message({"job_id": "j", "created_at": when, "tags": {"b", "a"}})
    assert json.loads(body) == {"job_id": "j", "created_at": when.isoformat(),
                                "tags": ["a", "b"]}
    assert decode_message(body) == json.loads(body)


@pytest.mark.parametrize("body", [b"[1, 2]", b"\xff", b"{", b""])
def test_decode_rejects_anything_but_a_json_object(body: bytes) -> None:
    with pytest.raises(InvalidMessageError):
        decode_message(body)


def test_size_guard_on_both_ends() -> None:
    with pytest.raises(MessageTooLargeError) as info:
        encode_message({"x": "y" * 100}, max_bytes=50)
    assert info.value.limit == 50 and info.value.size > 50
    with pytest.raises(MessageTooLargeError):
        decode_message(b'{"x": "' + b"y" * 100 + b'"}', max_bytes=50)


def test_encode_refuses_nan_and_unknown_objects() -> None:
    with pytest.raises(InvalidMessageError, match="not JSON serialisable"):
        encode_message({"loss": float("nan")})
    with pytest.raises(InvalidMessageError, match="bytes is not JSON serialisable"):
        encode_message({"weights": b"\x00"})
    with pytest.raises(InvalidMessageError, match="JSON object"):
        encode_message(["not", "a", "dict"])  # type: ignore[arg-type]


@pytest.mark.parametrize(("headers", "expected"), [
    (None, 0), ({ATTEMPTS_HEADER: 2}, 2), ({ATTEMPTS_HEADER: "2"}, 0),
    ({ATTEMPTS_HEADER: -1}, 0),
])
def test_attempts_header_is_read_defensively(headers, expected) -> None:
    assert attempts_of(pika.BasicProperties(headers=headers)) == expected


def test_success_report_carries_job_identity_over_the_result() -> None:
    job = {"process": "train", "job_id": "j1", "keys": {"project_id": "p"}}
    report = success_report(job, {"job_id": "forged", "outputs": {"loss": 0.1}})
    assert report == {"process": "train", "job_id": "j1", "status": "succeeded",
                      "keys": {"project_id": "p"}, "outputs": {"loss": 0.1}}
    assert success_report(job, None)["status"] == "succeeded"
    assert success_report(job, [1, 2])["outputs"] == [1, 2]


def test_failure_report_falls_back_to_the_message_id() -> None:
    report = failure_report(None, "InvalidMessageError: bad", 0, "train",
                            pika.BasicProperties(message_id="from-props"))
    assert report == {"process": None, "job_id": "from-props", "status": "failed",
                      "error": "InvalidMessageError: bad", "attempts": 0, "queue": "train"}


def test_describe_error_is_bounded() -> None:
    text = describe_error(RuntimeError("x" * 10_000))
    assert text.startswith("RuntimeError: x") and len(text) <= 2000


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(initial=0.5, maximum=3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_adapt_callback_passes_host_only_to_callbacks_that_take_it() -> None:
    assert adapt_callback(lambda kwargs, host: (kwargs, host), "mq")({"a": 1}) == ({"a": 1}, "mq")
    assert adapt_callback(lambda message: message, "mq")({"a": 1}) == {"a": 1}
    with pytest.raises(TypeError, match="callable"):
        adapt_callback("not callable", "mq")  # type: ignore[arg-type]


def test_bad_settings_fail_early_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="port"):
        BrokerSettings(port=70000)
    with pytest.raises(ValueError, match="max_attempts"):
        DeliveryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="unknown queue 'training'"):
        route_for("training")
    with pytest.raises(ValueError, match="unknown queue"):
        PriorityConsumer("localhost", 5672, queues=("preprocess", "bogus"))
    with pytest.raises(ValueError, match="non-empty sequence"):
        PriorityConsumer("localhost", 5672, queues="train")
