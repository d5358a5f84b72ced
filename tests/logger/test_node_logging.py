"""configure_node_logging with the `basic` variant: JSON lines, levels, secrets, censoring."""

from __future__ import annotations

import logging

import pytest

from synlogger import CENSORED, configure_node_logging, register_identifier, register_secret
from tests.logger.conftest import JsonLines

TOKEN = "node-token-abcdefghijklmnop0123"


def test_basic_events_are_json_lines_with_node_context_and_extras(stream: JsonLines) -> None:
    logger = configure_node_logging("ttp/1", "ttp", ["basic"], stream=stream)
    logger.info("round %d done", 3, extra={"project_id": "p1", "loss": 0.25})
    [event] = [e for e in stream.events() if e["message"] == "round 3 done"]
    assert event["level"] == "INFO" and event["logger"] == "synergos.ttp"
    assert (event["node_id"], event["role"]) == ("ttp/1", "ttp")
    assert (event["project_id"], event["loss"]) == ("p1", 0.25)
    assert event["timestamp"].endswith("+00:00")


def test_debug_flag_lowers_the_level(stream: JsonLines) -> None:
    logger = configure_node_logging("w/1", "worker", ["basic"], stream=stream)
    logger.debug("hidden detail")
    assert not any(e["message"] == "hidden detail" for e in stream.events())
    logger = configure_node_logging("w/1", "worker", ["basic"], debug=True, stream=stream)
    logger.debug("visible detail")
    [event] = [e for e in stream.events() if e["message"] == "visible detail"]
    assert event["level"] == "DEBUG" and "thread" in event


def test_reconfiguring_replaces_handlers_instead_of_duplicating(stream: JsonLines) -> None:
    configure_node_logging("w/1", "worker", ["basic"], stream=stream)
    logger = configure_node_logging("w/1", "worker", ["basic"], stream=stream)
    logger.info("once")
    assert [e["message"] for e in stream.events()].count("once") == 1


def test_secrets_are_masked_everywhere_without_censoring(stream: JsonLines) -> None:
    logger = configure_node_logging("w/1", "worker", ["basic"], secrets=[TOKEN], stream=stream)
    later = "later-secret-value-987654321"
    register_secret(later)
    logger.info("sent %s and %s", TOKEN, later, extra={"header": f"Bearer {TOKEN}",
                                                         "api_token": TOKEN})
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError:
        logger.exception("failure")
    output = stream.getvalue()
    assert TOKEN not in output and later not in output
    events = stream.events()
    sent = next(e for e in events if e["message"].startswith("sent"))
    assert sent["message"] == "sent *** and ***"
    assert sent["header"] == "Bearer ***" and sent["api_token"] == "***"
    failure = next(e for e in events if e["message"] == "failure")
    assert "RuntimeError: bad token ***" in failure["exception"]


def test_censored_events_omit_hosts_ips_ports_and_paths(stream: JsonLines) -> None:
    logger = configure_node_logging("w/1", "worker", ["basic"], censored=True, secrets=[TOKEN],
                                    stream=stream)
    register_identifier("participant-7.example")
    identifiers = ["192.168.7.21", "fe80::dead:beef", "participant-7.example", "mq:5672",
                   "/worker/data/secret.csv", TOKEN]
    logger.info("peer 192.168.7.21:8020 via participant-7.example, ipv6 fe80::dead:beef, "
                "mq:5672, file /worker/data/secret.csv, token=%s", TOKEN,
                extra={"host": "participant-7.example", "port": 8020,
                       "dataset_path": "/worker/data/secret.csv",
                       "detail": {"url": "http://192.168.7.21:8020/x", "note": "see mq:5672"}})
    try:
        open("/worker/data/secret.csv/missing")  # noqa: SIM115 - raises
    except OSError:
        logger.exception("cannot read")
    logging.getLogger("urllib3.connectionpool").warning(
        "Retrying connection to participant-7.example:8020")
    output = stream.getvalue()
    for identifier in identifiers:
        assert identifier not in output, identifier
    events = stream.events()
    peer = next(e for e in events if e["message"].startswith("peer"))
    assert (peer["host"], peer["port"], peer["dataset_path"]) == (CENSORED,) * 3
    assert peer["detail"] == {"url": CENSORED, "note": f"see {CENSORED}"}
    failed = next(e for e in events if e["message"] == "cannot read")
    assert "FileNotFoundError" in failed["exception"] and CENSORED in failed["exception"]
    assert any(e["logger"] == "urllib3.connectionpool" for e in events)


@pytest.mark.parametrize("variant", [["graylog"], ["nope"], ["graylog", "h", "x"]])
def test_invalid_variant_is_refused(variant: list[str]) -> None:
    with pytest.raises(ValueError, match=r"graylog|variant"):
        configure_node_logging("w/1", "worker", variant)
