"""`HeadGate` passes a REST connection's bytes to the parser one checked request at a time."""

from __future__ import annotations

import pytest

from synrest.head_gate import MAX_HEAD_BYTES, HeadGate
from synrest.head_rules import FramingError

HEAD = b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"


def test_a_head_is_held_back_until_complete_then_passed_with_its_body() -> None:
    gate = HeadGate()
    assert gate.feed(HEAD[:10]) == b""
    assert gate.feed(HEAD[10:] + b"ab") == HEAD + b"ab"
    assert gate.phase == "body" and gate.body_left == 1
    assert gate.feed(b"c") == b"c" and gate.phase == "done"


def test_a_pipelined_request_waits_for_the_answer_to_the_first() -> None:
    gate = HeadGate()
    second = b"GET /q HTTP/1.1\r\nHost: x\r\n\r\n"
    assert gate.feed(HEAD + b"abc" + second) == HEAD + b"abc"
    assert gate.next_request() == second
    assert gate.feed(second) == second and gate.phase == "done"


@pytest.mark.parametrize(("head", "status"), [
    (b"POST /p HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400),
    (b"POST /p HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", 400),
    (b"POST /p HTTP/1.1\r\nX-A: 1\r\n Content-Length: 3\r\n\r\n", 400),
    (b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
    (b"POST /p HTTP/7.3\r\nHost: x\r\n\r\n", 505),
    (b"POST /p HTTP/1.1\r\nX-A: " + b"v" * 9000 + b"\r\n\r\n", 431),
])
def test_a_head_breaking_a_rule_is_refused_with_its_status(head: bytes, status: int) -> None:
    with pytest.raises(FramingError) as refused:
        HeadGate().feed(head)
    assert refused.value.status == status


def test_an_endless_head_is_refused_past_the_cap() -> None:
    gate = HeadGate()
    gate.feed(b"GET / HTTP/1.1\r\n")
    with pytest.raises(FramingError) as refused:
        gate.feed(b"X" * MAX_HEAD_BYTES)
    assert refused.value.status == 431
