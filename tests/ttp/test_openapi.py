"""The TTP's OpenAPI document: complete, and honest (checked by schemathesis against the server)."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.support.processes import ServiceProcess
from tests.ttp.conftest import AUTH

pytestmark = pytest.mark.integration

CONNECT = "/ttp/connect"
REGISTRATION = CONNECT + "/participants/{participant_id}/projects/{project_id}/registration"
EXPECTED_ROUTES = {
    CONNECT + "/projects": {"get", "post"},
    CONNECT + "/projects/{project_id}": {"get", "put", "delete"},
    CONNECT + "/projects/{project_id}/experiments": {"get", "post"},
    CONNECT + "/projects/{project_id}/experiments/{expt_id}": {"get", "put", "delete"},
    CONNECT + "/projects/{project_id}/experiments/{expt_id}/runs": {"get", "post"},
    CONNECT + "/projects/{project_id}/experiments/{expt_id}/runs/{run_id}":
        {"get", "put", "delete"},
    CONNECT + "/participants": {"get", "post"},
    CONNECT + "/participants/{participant_id}": {"get", "put", "delete"},
    CONNECT + "/participants/{participant_id}/registrations": {"get"},
    CONNECT + "/projects/{project_id}/registrations": {"get"},
    REGISTRATION: {"get", "post", "put", "delete"},
    REGISTRATION + "/tags": {"get", "post", "put", "delete"},
    "/ttp/jobs": {"get"},
    "/ttp/jobs/{job_id}": {"get"},
    "/ttp/jobs/{job_id}/cancel": {"post"},
    "/ttp/jobs/{job_id}/resume": {"post"},
    "/health": {"get"},
    **{"/ttp/train/projects/{project_id}" + tail: {"get", "post"} for tail in (
        "/alignments", "/models", "/models/{expt_id}", "/models/{expt_id}/{run_id}",
        "/models/{expt_id}/optimizations")},
    **{"/ttp/evaluate/projects/{project_id}/validations" + tail: {"get", "post"} for tail in (
        "", "/{expt_id}", "/{expt_id}/{run_id}", "/{expt_id}/{run_id}/{participant_id}")},
    **{"/ttp/evaluate/projects/{project_id}/contributions" + tail: {"get", "post"} for tail in (
        "", "/{expt_id}", "/{expt_id}/{run_id}")},
    **{"/ttp/evaluate/participants/{participant_id}/predictions" + tail: {"get", "post"}
       for tail in ("", "/{project_id}", "/{project_id}/{expt_id}",
                    "/{project_id}/{expt_id}/{run_id}")},
}


@pytest.fixture(scope="module")
def ttp_openapi(ttp: ServiceProcess) -> schemathesis.BaseSchema:
    """The live OpenAPI document of the session's TTP, for schemathesis."""
    return schemathesis.from_uri(f"{ttp.base_url}/swagger.json", base_url=ttp.base_url)


def test_openapi_lists_every_route(ttp: ServiceProcess) -> None:
    document = requests.get(f"{ttp.base_url}/swagger.json", timeout=10).json()
    routes = {path: set(operations) - {"parameters"}
              for path, operations in document["paths"].items()}
    assert routes == EXPECTED_ROUTES
    assert document["securityDefinitions"]["bearer"]["in"] == "header"
    docs = requests.get(f"{ttp.base_url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


schema = schemathesis.from_pytest_fixture("ttp_openapi")


@schema.parametrize()
@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_honours_its_openapi_document(case: schemathesis.Case) -> None:
    response = case.call(headers=AUTH, timeout=30)
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
