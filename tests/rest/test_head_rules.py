"""`synrest.head_rules`: the strict head rules every port applies before its parser."""

from __future__ import annotations

import io

import pytest

from synrest.head_rules import (
    MAX_HEADERS,
    MAX_LINE,
    FramingError,
    body_length,
    read_head,
)
from synrest.port_guard import RefusalLog


def head_of(raw: bytes) -> tuple[bytes, dict[str, str]] | None:
    return read_head(io.BufferedReader(io.BytesIO(raw)))


def test_a_head_is_its_start_line_and_lower_cased_headers() -> None:
    raw = b"\r\nPOST /data/a HTTP/1.1\r\nContent-Length: 3\r\nX-Thing:  v a l \r\n\r\nabc"
    assert head_of(raw) == (b"POST /data/a HTTP/1.1", {"content-length": "3", "x-thing": "v a l"})


def test_nothing_before_the_close_is_none() -> None:
    assert head_of(b"") is None


@pytest.mark.parametrize(("raw", "status"), [
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n", 400),  # repeated
    (b"POST / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\n folded: value\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\n", 400),  # the head ends early
    (b"POST /" + b"a" * MAX_LINE + b" HTTP/1.1\r\n\r\n", 431),
    (b"POST / HTTP/1.1\r\nX: " + b"v" * MAX_LINE + b"\r\n\r\n", 431),
    (b"POST / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
     + b"\r\n", 431),
    (b"POST /a\x00b HTTP/1.1\r\n\r\n", 400),  # NUL in the start line
    (b"POST / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400),  # NUL in a value
    (b"POST / HTTP/1.1\r\nX: a\rContent-Length: 3\r\n\r\n", 400),  # bare CR
    (b"POST / HTTP/1.1\r\n\tX: a\r\n\r\n", 400),  # folded with a tab
])
def test_malformed_heads_are_refused_with_a_status(raw: bytes, status: int) -> None:
    with pytest.raises(FramingError) as refused:
        head_of(raw)
    assert refused.value.status == status and refused.value.message


@pytest.mark.parametrize(("headers", "limit", "length"), [
    ({}, None, 0),
    ({"content-length": "12"}, 12, 12),
])
def test_body_length_is_the_content_length(headers: dict[str, str], limit: int | None,
                                           length: int) -> None:
    assert body_length(headers, limit) == length


@pytest.mark.parametrize(("headers", "limit", "status"), [
    ({"content-length": "13"}, 12, 413),
    ({"content-length": "-1"}, None, 400),
    ({"content-length": "1e3"}, None, 400),
    ({"content-length": "\u00b2"}, None, 400),  # a digit to str.isdigit, not to int()
    ({"content-length": "\u0663"}, None, 400),  # an Arabic-Indic three
    ({"content-length": "3, 3"}, None, 400),
    ({"content-length": "9" * 19}, None, 400),
    ({"transfer-encoding": "chunked"}, None, 411),
])
def test_other_body_framing_is_refused(headers: dict[str, str], limit: int | None,
                                       status: int) -> None:
    with pytest.raises(FramingError) as refused:
        body_length(headers, limit)
    assert refused.value.status == status


def test_a_refusal_is_logged_once_per_peer_and_reason_per_interval(
        caplog: pytest.LogCaptureFixture) -> None:
    log = RefusalLog(interval=60.0)
    with caplog.at_level("WARNING", logger="synrest.server"):
        for _ in range(50):
            log.refused("10.0.0.1", "too many connections")
        log.refused("10.0.0.2", "too many connections")
        log.refused("10.0.0.1", "the request head took too long")
    assert len(caplog.records) == 3
