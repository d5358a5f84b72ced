"""HTTP failures map to the right `SynergosError`; the auth header comes from arg or env."""

from __future__ import annotations

import pytest

from synergos import (
    AuthenticationError,
    ConflictError,
    Driver,
    InvalidResponseError,
    NotFoundError,
    ResponseTimeoutError,
    ServerError,
    SynergosError,
    UnreachableError,
    ValidationError,
)
from tests.driver.conftest import TEST_TOKEN
from tests.driver.fake_ttp import CannedResponse, FakeTTP, error_body
from tests.support.processes import free_port

PROJECT = "/ttp/connect/projects/p1"


@pytest.mark.parametrize(("status", "error_class"), [
    (400, ValidationError), (401, AuthenticationError), (403, AuthenticationError),
    (404, NotFoundError), (409, ConflictError), (413, ValidationError),
    (422, ValidationError), (500, ServerError), (503, ServerError), (418, SynergosError),
])
def test_error_status_maps_to_exception(
    driver: Driver, fake_ttp: FakeTTP, status: int, error_class: type[SynergosError]
) -> None:
    errors = {"rounds": "must be an integer"} if status == 422 else None
    fake_ttp.script("GET", PROJECT, CannedResponse(status, error_body(status, "nope", errors)))
    with pytest.raises(error_class) as caught:
        driver.projects.read("p1")
    assert type(caught.value) is error_class
    assert caught.value.status == status
    assert caught.value.message == "nope"
    assert caught.value.errors == (errors or {})
    assert caught.value.url.endswith(PROJECT)


def test_validation_errors_name_the_fields(driver: Driver, fake_ttp: FakeTTP) -> None:
    runs = "/ttp/connect/projects/p1/experiments/e1/runs"
    fake_ttp.script("POST", runs, CannedResponse(422, error_body(
        422, "invalid run", {"rounds": "must be >= 1", "optimizer": "unknown: Foo"})))
    with pytest.raises(ValidationError) as caught:
        driver.runs.create("p1", "e1", "r1", rounds=0, optimizer="Foo")
    assert caught.value.errors == {"rounds": "must be >= 1", "optimizer": "unknown: Foo"}
    assert "rounds: must be >= 1" in str(caught.value)
    assert str(caught.value).startswith("[422] invalid run")


def test_flask_style_error_without_envelope_fields(driver: Driver, fake_ttp: FakeTTP) -> None:
    fake_ttp.script("GET", PROJECT, CannedResponse(404, {"message": "Project p1 not found"}))
    with pytest.raises(NotFoundError, match="Project p1 not found"):
        driver.projects.read("p1")


@pytest.mark.parametrize(("status", "error_class"), [
    (200, InvalidResponseError), (502, ServerError), (404, NotFoundError),
])
def test_non_json_answer_gives_a_clear_error(
    driver: Driver, fake_ttp: FakeTTP, status: int, error_class: type[SynergosError]
) -> None:
    page = b"<html><body>Bad Gateway</body></html>"
    fake_ttp.script("GET", PROJECT, CannedResponse(status, page, "text/html"))
    with pytest.raises(error_class) as caught:
        driver.projects.read("p1")
    assert caught.value.status == status
    assert "not a JSON object" in caught.value.message
    assert "text/html" in caught.value.message
    assert "Bad Gateway" in caught.value.message


def test_json_that_is_not_an_envelope_is_rejected(driver: Driver, fake_ttp: FakeTTP) -> None:
    fake_ttp.script("GET", PROJECT, CannedResponse(200, {"hello": "world"}))
    with pytest.raises(InvalidResponseError, match="not a Synergos envelope"):
        driver.projects.read("p1")


def test_unreachable_port_names_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    driver = Driver(host="127.0.0.1", port=port, timeout=5)
    with pytest.raises(UnreachableError) as caught:
        driver.projects.read_all()
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "Connection refused" in str(caught.value)
    assert caught.value.status is None
    assert isinstance(caught.value, ConnectionError)


def test_slow_answer_raises_response_timeout(fake_ttp: FakeTTP) -> None:
    fake_ttp.script("GET", PROJECT, CannedResponse(200, {"data": {}}, delay=1.0))
    driver = Driver(host="127.0.0.1", port=fake_ttp.port, timeout=0.2)
    with pytest.raises(ResponseTimeoutError, match=f"127.0.0.1:{fake_ttp.port}"):
        driver.projects.read("p1")


def test_token_argument_is_sent_as_bearer(driver: Driver, fake_ttp: FakeTTP) -> None:
    driver.projects.read_all()
    assert fake_ttp.requests[0].headers["authorization"] == f"Bearer {TEST_TOKEN}"


def test_token_from_environment(fake_ttp: FakeTTP, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNERGOS_TOKEN", "from-env-token")
    Driver(host="127.0.0.1", port=fake_ttp.port).projects.read_all()
    Driver(host="127.0.0.1", port=fake_ttp.port, token="explicit").projects.read_all()
    sent = [r.headers["authorization"] for r in fake_ttp.requests]
    assert sent == ["Bearer from-env-token", "Bearer explicit"]


def test_no_token_sends_no_header_and_401_says_how_to_fix(
    fake_ttp: FakeTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNERGOS_TOKEN", raising=False)
    fake_ttp.script("GET", "/ttp/connect/projects", CannedResponse(401, error_body(
        401, "missing or invalid bearer token")))
    driver = Driver(host="127.0.0.1", port=fake_ttp.port)
    with pytest.raises(AuthenticationError, match="SYNERGOS_TOKEN") as caught:
        driver.projects.read_all()
    assert caught.value.status == 401
    assert "authorization" not in fake_ttp.requests[0].headers


def test_token_never_appears_in_reprs_or_errors(driver: Driver, fake_ttp: FakeTTP) -> None:
    fake_ttp.script("GET", PROJECT, CannedResponse(403, error_body(403, "forbidden")))
    with pytest.raises(AuthenticationError) as caught:
        driver.projects.read("p1")
    shown = " ".join([repr(driver), repr(driver.projects), repr(driver._transport),
                      str(caught.value), repr(caught.value)])
    assert TEST_TOKEN not in shown


def test_https_to_a_plain_http_server_is_a_clear_tls_error(fake_ttp: FakeTTP) -> None:
    driver = Driver(host="127.0.0.1", port=fake_ttp.port, secure=True, timeout=5)
    assert driver.base_url == f"https://127.0.0.1:{fake_ttp.port}"
    with pytest.raises(UnreachableError, match=f"TLS connection to 127.0.0.1:{fake_ttp.port}"):
        driver.projects.read_all()
