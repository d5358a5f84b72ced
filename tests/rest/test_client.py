"""NodeClient against the real sample service: envelopes, errors, retries, binary bodies."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from synrest.client import NodeCallError, NodeClient
from tests.rest.conftest import SHARED_TOKEN
from tests.support.processes import ServiceProcess, free_port


@pytest.fixture
def client(shared_service: ServiceProcess) -> Iterator[NodeClient]:
    with NodeClient(shared_service.base_url, token=SHARED_TOKEN, backoff=0.05) as node:
        yield node


def attempts(client: NodeClient, key: str) -> int:
    return client.get(f"/sample/attempts/{key}")["data"]["attempts"]


def test_calls_return_the_parsed_envelope(client: NodeClient) -> None:
    created = client.post("/sample/items", json={"name": "via-client", "size": 1})
    assert created["status"] == 201 and created["data"]["name"] == "via-client"
    assert client.get("sample/items/via-client")["data"] == {"name": "via-client", "size": 1}


def test_error_status_raises_with_message_and_field_errors(client: NodeClient) -> None:
    with pytest.raises(NodeCallError) as failure:
        client.post("/sample/items", json={"name": 5})
    assert failure.value.status == 422
    assert failure.value.errors == {"name": "required non-empty string"}
    assert failure.value.url.endswith("/sample/items")
    with pytest.raises(NodeCallError) as missing:
        client.get("/sample/items/nothing-here")
    assert missing.value.status == 404 and "nothing-here" in missing.value.message


def test_wrong_token_raises_401(shared_service: ServiceProcess) -> None:
    stranger = NodeClient(shared_service.base_url, token="not-the-token-0123456789")
    with stranger, pytest.raises(NodeCallError) as failure:
        stranger.get("/sample/items")
    assert failure.value.status == 401


def test_get_is_retried_on_503_until_it_succeeds(client: NodeClient) -> None:
    key = uuid.uuid4().hex
    body = client.get(f"/sample/flaky/{key}", params={"failures": 2})
    assert body["data"]["attempts"] == 3
    assert attempts(client, key) == 3


def test_retries_are_bounded(client: NodeClient) -> None:
    key = uuid.uuid4().hex
    with pytest.raises(NodeCallError) as failure:
        client.get(f"/sample/flaky/{key}", params={"failures": 10})
    assert failure.value.status == 503 and failure.value.message == "try later"
    assert attempts(client, key) == 1 + client.retries


def test_post_is_not_retried_unless_idempotent(client: NodeClient) -> None:
    key = uuid.uuid4().hex
    with pytest.raises(NodeCallError) as failure:
        client.post(f"/sample/flaky/{key}?failures=1")
    assert failure.value.status == 503
    assert attempts(client, key) == 1
    other = uuid.uuid4().hex
    assert client.post(f"/sample/flaky/{other}?failures=1", idempotent=True)["success"] == 1
    assert attempts(client, other) == 2


def test_unreachable_peer_fails_fast_naming_host_and_port() -> None:
    port = free_port()
    node = NodeClient(f"http://127.0.0.1:{port}", retries=3, backoff=0.05)
    started = time.monotonic()
    with pytest.raises(NodeCallError) as failure:
        node.get("/health")
    elapsed = time.monotonic() - started
    assert failure.value.status is None
    assert f"127.0.0.1:{port} unreachable" in failure.value.message
    assert 0.05 + 0.1 + 0.2 <= elapsed < 3  # three backoffs, then the error


def test_client_rejects_a_url_without_scheme() -> None:
    with pytest.raises(ValueError, match="http"):
        NodeClient("127.0.0.1:5000")


def test_an_answer_that_times_out_is_not_retried(client: NodeClient) -> None:
    # A retried read timeout would end as "unreachable" after the retries; the call's own
    # deadline ends it on the first try instead.
    with pytest.raises(NodeCallError) as failure:
        client.get("/sample/slow", params={"seconds": 2}, timeout=(3.05, 0.3))
    assert failure.value.status is None
    assert "did not answer within" in failure.value.message


def test_abort_ends_a_call_in_flight_and_refuses_later_ones() -> None:
    # a peer that takes the request and never answers (a hung node)
    with socket.create_server(("127.0.0.1", free_port())) as listener:
        listener.settimeout(30)
        node = NodeClient(f"http://127.0.0.1:{listener.getsockname()[1]}",
                          timeout=(3.05, 120), retries=2, backoff=0.05)
        failures: list[NodeCallError] = []

        def call() -> None:
            try:
                node.get("/never-answered")
            except NodeCallError as error:
                failures.append(error)

        caller = threading.Thread(target=call)
        caller.start()
        peer, _ = listener.accept()
        with peer:
            peer.settimeout(30)
            assert peer.recv(4096).startswith(b"GET /never-answered")  # the call is in flight
            node.abort()
            caller.join(30)  # far below its 120 s read timeout
            assert not caller.is_alive()
        assert failures and failures[0].status is None
        assert "aborted" in failures[0].message  # the retry after the cut was refused
        with pytest.raises(NodeCallError, match="aborted"):
            node.post("/later", json={})
        node.close()
