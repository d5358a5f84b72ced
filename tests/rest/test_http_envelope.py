"""Success and error envelopes over real HTTP, against the sample service."""

from __future__ import annotations

import pytest
import requests

from tests.rest.conftest import BINARY_LIMIT, JSON_LIMIT, SHARED_TOKEN
from tests.support.processes import ServiceProcess

ENVELOPE_KEYS = {"apiVersion", "success", "status", "method", "params", "data"}


def assert_error_envelope(response: requests.Response, status: int) -> dict:
    """The response is a JSON error envelope with `status`; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) >= ENVELOPE_KEYS
    assert body["success"] == 0
    assert body["status"] == status
    assert body["data"] is None
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_success_envelope_carries_status_method_params_and_data(
        shared_service: ServiceProcess, auth: dict[str, str]) -> None:
    url = shared_service.base_url
    created = requests.post(f"{url}/sample/items", json={"name": "alpha", "size": 3},
                            headers=auth, timeout=5)
    assert created.status_code == 201
    assert created.json() == {"apiVersion": "0.1.0", "success": 1, "status": 201,
                              "method": "items.post", "params": {},
                              "data": {"name": "alpha", "size": 3}}
    read = requests.get(f"{url}/sample/items/alpha", headers=auth, timeout=5).json()
    assert read["params"] == {"item_id": "alpha"}
    assert read["data"] == {"name": "alpha", "size": 3}


@pytest.mark.parametrize("path", ["/sample/items", "/sample/items/"])
def test_trailing_slash_works_both_ways_without_redirect(
        shared_service: ServiceProcess, auth: dict[str, str], path: str) -> None:
    response = requests.get(shared_service.base_url + path, headers=auth, timeout=5,
                            allow_redirects=False)
    assert response.status_code == 200
    assert response.json()["method"] == "items.get"


def test_health_needs_no_token(shared_service: ServiceProcess) -> None:
    body = requests.get(shared_service.base_url + "/health/", timeout=5).json()
    assert body["success"] == 1
    assert body["data"]["status"] == "ok"
    assert body["data"]["role"] == "worker"
    assert body["data"]["node_id"].startswith("worker/")


def test_unknown_route_is_404_envelope(shared_service: ServiceProcess) -> None:
    body = assert_error_envelope(
        requests.get(shared_service.base_url + "/no/such/route", timeout=5), 404)
    assert "/no/such/route" in body["message"]


def test_missing_record_is_404_envelope(shared_service: ServiceProcess,
                                        auth: dict[str, str]) -> None:
    response = requests.get(shared_service.base_url + "/sample/items/ghost", headers=auth,
                            timeout=5)
    body = assert_error_envelope(response, 404)
    assert body["message"] == "no item 'ghost'"
    assert body["params"] == {"item_id": "ghost"}


def test_wrong_method_is_405_envelope_with_allow(shared_service: ServiceProcess,
                                                 auth: dict[str, str]) -> None:
    response = requests.delete(shared_service.base_url + "/sample/items", headers=auth,
                               timeout=5)
    body = assert_error_envelope(response, 405)
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]
    assert "DELETE" in body["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_or_non_object_json_is_400(shared_service: ServiceProcess,
                                             auth: dict[str, str], raw: bytes) -> None:
    response = requests.post(shared_service.base_url + "/sample/items", data=raw,
                             headers={**auth, "Content-Type": "application/json"}, timeout=5)
    assert_error_envelope(response, 400)


def test_invalid_fields_are_422_with_field_errors(shared_service: ServiceProcess,
                                                  auth: dict[str, str]) -> None:
    response = requests.post(shared_service.base_url + "/sample/items",
                             json={"name": "", "size": -1}, headers=auth, timeout=5)
    body = assert_error_envelope(response, 422)
    assert set(body["errors"]) == {"name", "size"}


def test_restx_model_validation_is_422_naming_the_field(shared_service: ServiceProcess,
                                                        auth: dict[str, str]) -> None:
    response = requests.post(shared_service.base_url + "/sample/typed",
                             json={"count": "many"}, headers=auth, timeout=5)
    body = assert_error_envelope(response, 422)
    assert "count" in body["errors"]
    ok = requests.post(shared_service.base_url + "/sample/typed", json={"count": 2},
                       headers=auth, timeout=5)
    assert ok.status_code == 200 and ok.json()["data"] == {"count": 2}


def test_json_body_over_the_limit_is_413(shared_service: ServiceProcess,
                                         auth: dict[str, str]) -> None:
    body = {"name": "big", "pad": "x" * (JSON_LIMIT * 2)}
    response = requests.post(shared_service.base_url + "/sample/items", json=body,
                             headers=auth, timeout=5)
    envelope = assert_error_envelope(response, 413)
    assert str(JSON_LIMIT) in envelope["message"]


def test_binary_port_has_its_own_limit_auth_and_envelopes(
        shared_data_url: str, auth: dict[str, str]) -> None:
    blob = bytes(range(256)) * ((JSON_LIMIT * 4) // 256)  # over the JSON limit, under binary
    headers = {**auth, "Content-Type": "application/octet-stream"}
    url = shared_data_url + "/data/x/reverse"
    response = requests.post(url, data=blob, headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.content == blob[::-1]
    too_big = requests.post(url, data=b"\0" * (BINARY_LIMIT + 1), headers=headers, timeout=5)
    assert str(BINARY_LIMIT) in assert_error_envelope(too_big, 413)["message"]
    unauthenticated = requests.post(url, data=b"abc", timeout=5)
    assert_error_envelope(unauthenticated, 401)
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"
    failed = requests.post(url, data=b"fail", headers=headers, timeout=5)
    assert "reference" in assert_error_envelope(failed, 500)["message"]
    assert assert_error_envelope(requests.get(url, timeout=5), 405)["method"] is None
    assert_error_envelope(requests.post(shared_data_url + "/nothing", timeout=5), 404)
    health = requests.get(shared_data_url + "/health", timeout=5)
    assert health.status_code == 200 and health.json()["data"]["status"] == "ok"


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789abcdef",
                                    f"Basic {SHARED_TOKEN}", "Bearer"])
def test_missing_or_wrong_token_is_401(shared_service: ServiceProcess,
                                       header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.get(shared_service.base_url + "/sample/items", headers=headers,
                            timeout=5)
    body = assert_error_envelope(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert SHARED_TOKEN not in response.text
    assert "token" in body["message"].lower() or "authorization" in body["message"].lower()


def test_unexpected_error_is_generic_500_with_detail_only_in_logs(
        shared_service: ServiceProcess, auth: dict[str, str]) -> None:
    response = requests.get(shared_service.base_url + "/sample/boom", headers=auth, timeout=5)
    body = assert_error_envelope(response, 500)
    assert "database" not in response.text and "/var/lib" not in response.text
    reference = body["message"].rsplit(" ", 1)[-1].rstrip(")")
    log = shared_service.log_tail(200_000)
    assert reference in log
    assert "database /var/lib/sample/db.json exploded" in log


def test_openapi_lists_routes_and_declares_bearer_scheme(shared_service: ServiceProcess) -> None:
    spec = requests.get(shared_service.base_url + "/swagger.json", timeout=5).json()
    assert {"/health", "/sample/items", "/sample/items/{item_id}", "/sample/typed"} <= set(
        spec["paths"])
    scheme = spec["securityDefinitions"]["bearer"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "Authorization",
                      "description": scheme["description"]}
    assert spec["security"] == [{"bearer": []}]
    assert spec["paths"]["/health"]["get"]["security"] == []


def test_swagger_ui_serves_html(shared_service: ServiceProcess) -> None:
    response = requests.get(shared_service.base_url + "/docs", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "swagger" in response.text.lower()


def test_token_in_a_logged_header_is_masked(shared_service: ServiceProcess,
                                            auth: dict[str, str]) -> None:
    response = requests.get(shared_service.base_url + "/sample/careless", headers=auth,
                            timeout=5)
    assert response.status_code == 200
    log = shared_service.log_tail(500_000)
    assert "incoming auth header Bearer ***" in log
    assert '"auth_header": "Bearer ***"' in log
    assert SHARED_TOKEN not in log
