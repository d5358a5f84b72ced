"""HTTPS from the TTP to Workers registered `secure: true` (real processes): training works
with certificates verified against the TTP's `--worker_ca`; a Worker whose certificate is
not from that CA, or not for the registered host, fails the alignment with an error naming
the Worker and the certificate; a plain-HTTP client cannot talk to a TLS Worker's data port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from synergos import Driver
from synergos.errors import SynergosError
from tests.engine.conftest import unique
from tests.engine.local_grid import LocalGrid, dataset_tags, register_project, worker_token
from tests.support.certificates import write_ca, write_signed_cert
from tests.support.processes import LOOPBACK

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tls_grid(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Iterator[LocalGrid]:
    """Workers `p1`, `p2` with certificates signed by the TTP's `--worker_ca`, and `rogue`
    with one from another CA; all serve HTTPS on both ports."""
    home = tmp_path_factory.mktemp("tls_grid")
    folder = home / "certificates"
    trusted, other = write_ca(folder / "ca"), write_ca(folder / "other_ca", "Another CA")
    certificates = {name: (*write_signed_cert(folder / name, trusted), trusted[0])
                    for name in ("p1", "p2")}
    certificates["rogue"] = (*write_signed_cert(folder / "rogue", other), other[0])
    local = LocalGrid(home, worker_tls=certificates)
    try:
        local.start_workers({"p1": datasets / "party_1", "p2": datasets / "party_2",
                             "rogue": datasets / "party_2"})
        local.start_ttp(extra=["--worker_ca", str(trusted[0])])
        yield local
    finally:
        local.stop()


@pytest.fixture()
def tls_driver(tls_grid: LocalGrid) -> Iterator[Driver]:
    """A Driver on the TLS grid's TTP."""
    with tls_grid.driver() as client:
        yield client


def test_training_over_verified_tls_succeeds(tls_driver: Driver, tls_grid: LocalGrid) -> None:
    project_id = unique("tls")
    register_project(tls_driver, tls_grid, project_id, {
        "p1": dataset_tags("breast_cancer"), "p2": dataset_tags("breast_cancer")},
        secure=True)
    registration = tls_driver.registrations.read(project_id, "p1")["data"]
    assert registration["nodes"][0]["secure"] is True
    tls_driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    tls_driver.models.create(project_id=project_id, expt_id="expt", run_id="run",
                             progress=False, timeout=300)
    model = tls_driver.models.read(project_id, "expt", "run")["data"][0]
    assert [report["round"] for report in model["rounds"]] == [1, 2, 3]
    for report in model["rounds"]:
        assert {report["participants"][p]["status"] for p in ("p1", "p2")} == {"ok"}


def alignment_error(driver: Driver, project_id: str) -> str:
    """The error message of a project's alignment, which must fail."""
    with pytest.raises(SynergosError) as failure:
        driver.alignments.create(project_id=project_id, progress=False, timeout=120)
    return str(failure.value)


def test_a_worker_certificate_from_another_ca_fails_naming_the_worker(
        tls_driver: Driver, tls_grid: LocalGrid) -> None:
    project_id = unique("rogue")
    register_project(tls_driver, tls_grid, project_id, {
        "p1": dataset_tags("breast_cancer"), "rogue": dataset_tags("breast_cancer")},
        secure=True)
    message = alignment_error(tls_driver, project_id)
    rogue_port = tls_grid.workers["rogue"].service.port
    assert "rogue" in message and "certificate" in message, message
    assert f"{LOOPBACK}:{rogue_port}" in message, message
    assert "Traceback" not in message


def test_a_worker_certificate_for_another_host_fails_naming_the_worker(
        tls_driver: Driver, tls_grid: LocalGrid) -> None:
    project_id = unique("misnamed")
    register_project(tls_driver, tls_grid, project_id, {
        "p1": dataset_tags("breast_cancer"), "p2": dataset_tags("breast_cancer")},
        secure=True)
    p2 = tls_grid.workers["p2"]
    # p2's certificate names 127.0.0.1 only; reached as "localhost" it must be refused
    tls_driver.registrations.create(
        project_id=project_id, participant_id="p2", role="host",
        nodes=[{"host": "localhost", "port": p2.data_port, "f_port": p2.service.port,
                "token": worker_token("p2"), "secure": True}])
    message = alignment_error(tls_driver, project_id)
    assert "p2" in message and "certificate" in message, message
    assert f"localhost:{p2.service.port}" in message, message


def test_a_plain_http_client_cannot_read_from_a_tls_data_port(tls_grid: LocalGrid) -> None:
    p1 = tls_grid.workers["p1"]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"http://{LOOPBACK}:{p1.data_port}/data/any/expt/run/fit",
                      data=b"\x00" * 16, timeout=10,
                      headers={"Authorization": f"Bearer {worker_token('p1')}"})
