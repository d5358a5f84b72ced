"""The Worker's OpenAPI document lists its routes, and schemathesis finds no 5xx behind it."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.worker.conftest import AUTH, WorkerClient

pytestmark = pytest.mark.integration
RUN = "{project_id}/{expt_id}/{run_id}"
EXPECTED_ROUTES = {
    "/worker/poll/{project_id}": {"get", "post"},
    "/worker/align/{project_id}": {"post"},
    f"/worker/initialise/{RUN}": {"post"},
    f"/worker/terminate/{RUN}": {"post"},
    f"/worker/predict/{RUN}": {"get"},
    f"/worker/predictions/{RUN}": {"get"},
    "/health": {"get"},
}


@pytest.fixture(scope="module")
def worker_openapi(worker: WorkerClient) -> schemathesis.BaseSchema:
    """The live OpenAPI document of the session's Worker, for schemathesis."""
    return schemathesis.from_uri(f"{worker.command_url}/swagger.json",
                                 base_url=worker.command_url)


def test_openapi_lists_every_route(worker: WorkerClient) -> None:
    document = requests.get(f"{worker.command_url}/swagger.json", timeout=10).json()
    routes = {path: set(operations) - {"parameters"}
              for path, operations in document["paths"].items()}
    assert routes == EXPECTED_ROUTES
    assert document["securityDefinitions"]["bearer"]["in"] == "header"
    docs = requests.get(f"{worker.command_url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


schema = schemathesis.from_pytest_fixture("worker_openapi")


@schema.parametrize()
@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_honours_its_openapi_document(case: schemathesis.Case) -> None:
    response = case.call(headers=AUTH, timeout=30)
    case.validate_response(response, checks=(not_a_server_error,))
