"""Synergos across emulated wide-area links: the harness itself (delay, rate, clean-up) and
a grid whose Workers each sit behind a delayed, rate-limited link (TTP with TLS, Workers
serving TLS verified against the TTP's `--worker_ca`), which must train to the loopback
grid's accuracy with one request per Worker per round."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from synergos import Driver
from synergos_datasets.builder import build_examples
from tests.engine.local_grid import LocalGrid, dataset_tags
from tests.engine.test_training_quality import federated_accuracy
from tests.support.wide_area.grid import WideAreaGrid
from tests.support.wide_area.namespaces import NETNS_DIR
from tests.support.wide_area.network import LinkShape, WideAreaNetwork
from tests.support.wide_area.probe import ProbeSession

pytestmark = [
    pytest.mark.integration,
    # A loopback reference training, then the same training across the delayed links.
    pytest.mark.timeout(900),
    pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/net/tun")
                       or shutil.which("ip") is None,
                       reason="the wide-area harness needs root, /dev/net/tun and iproute2"),
]
SITES = ("p1", "p2", "p3")
LINK = LinkShape(rate_bps=50e6, rtt_s=0.020)
ROUNDS = 4
RUN = {"algorithm": "FedAvg", "optimizer": "SGD", "lr": 0.1, "lr_scheduler": None,
       "criterion": "BCELoss", "batch_size": 32, "epochs": 1, "rounds": ROUNDS, "seed": 7}
START_TIMEOUT = 600  # starting seven Python processes on a busy 2-core machine


@pytest.fixture(scope="module")
def party_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """breast_cancer split over three parties: `party_<n>/breast_cancer/{train,evaluate}`."""
    root = tmp_path_factory.mktemp("wide_area_data")
    build_examples(root, parties=len(SITES), names=["breast_cancer"])
    return root


def harness_namespaces() -> set[str]:
    """Namespaces of this process's harness that exist now."""
    prefix = f"swan{os.getpid()}x"
    return {name for name in os.listdir(NETNS_DIR) if name.startswith(prefix)} \
        if os.path.isdir(NETNS_DIR) else set()


def test_a_link_holds_packets_for_its_delay_and_rate_and_is_removed_even_after_a_failure(
        tmp_path: Path) -> None:
    shape = LinkShape(rate_bps=20e6, rtt_s=0.040)
    payload = 2_000_000
    with (pytest.raises(RuntimeError, match="fails inside"),
          WideAreaNetwork(tmp_path, ["a"], shape) as network):
        made = {network.hub, network.namespace("a")}
        assert made <= harness_namespaces()
        links = network.link_processes
        probe = ProbeSession(network)
        rtt = probe.rtt("a", samples=5)
        transfer = probe.exchange("a", payload, 1)
        probe.close()
        raise RuntimeError("the caller fails inside the network")
    # a packet waits the one-way delay each way; bytes cannot leave faster than the rate
    assert rtt >= shape.rtt_s
    assert transfer >= payload * 8 / shape.rate_bps + shape.rtt_s
    assert not made & harness_namespaces()
    assert all(link.poll() is not None for link in links)
    counts = network.link_counts()["a"]
    assert counts["a_to_b"]["forwarded"] >= payload / shape.mtu


def register_and_align(driver: Driver, participants: dict[str, dict[str, Any]]) -> None:
    """Register the participants of a breast_cancer project for RUN and align them."""
    driver.projects.create(project_id="wan", action="classify", incentives={})
    driver.experiments.create(project_id="wan", expt_id="expt", model=[
        {"activation": "sigmoid", "is_input": True, "l_type": "Linear",
         "structure": {"bias": True, "in_features": 1, "out_features": 1}}])
    driver.runs.create(project_id="wan", expt_id="expt", run_id="run", **RUN)
    for participant_id, fields in participants.items():
        driver.participants.create(participant_id=participant_id, **fields)
        driver.registrations.create(project_id="wan", participant_id=participant_id,
                                    role="host")
        driver.tags.create(project_id="wan", participant_id=participant_id,
                           **dataset_tags("breast_cancer"))
    driver.alignments.create(project_id="wan", progress=False, timeout=300)


def train(driver: Driver) -> None:
    """Train RUN of the aligned project."""
    driver.models.create(project_id="wan", expt_id="expt", run_id="run", progress=False,
                         timeout=600)


@pytest.fixture(scope="module")
def loopback_accuracy(tmp_path_factory: pytest.TempPathFactory, party_data: Path) -> float:
    """The accuracy of RUN on a loopback grid with the same three parties."""
    home = tmp_path_factory.mktemp("loopback")
    grid = LocalGrid(home)
    try:
        grid.start_workers({site: party_data / f"party_{i + 1}" for i, site in enumerate(SITES)},
                           timeout=START_TIMEOUT)
        grid.start_ttp(timeout=START_TIMEOUT)
        with grid.driver() as driver:
            register_and_align(driver, {site: {
                "host": "127.0.0.1", "port": grid.workers[site].data_port,
                "f_port": grid.workers[site].service.port,
                "token": f"worker-token-{site}-0123456789"} for site in SITES})
            train(driver)
            return validated_accuracy(driver)
    finally:
        grid.stop()


def validated_accuracy(driver: Driver) -> float:
    """The trained run's accuracy over every participant's evaluate rows."""
    return federated_accuracy(driver.validations.create(
        project_id="wan", expt_id="expt", run_id="run", progress=False, timeout=600)["data"])


@pytest.mark.slow
@pytest.mark.timeout(900)  # two grids of four processes each, started and trained
def test_a_grid_of_tls_workers_across_delayed_links_trains_like_loopback_in_one_exchange_per_round(
        tmp_path: Path, party_data: Path, loopback_accuracy: float) -> None:
    with WideAreaNetwork(tmp_path / "network", SITES, LINK) as network:
        grid = WideAreaGrid(network, tmp_path / "grid", tls=True, worker_tls=True)
        grid.start({site: party_data / f"party_{i + 1}" for i, site in enumerate(SITES)},
                   timeout=START_TIMEOUT)
        with grid.driver() as driver:
            assert driver.base_url.startswith("https://")
            register_and_align(driver, {site: grid.participant(site) for site in SITES})
            before = network.link_counts()
            train(driver)
            links = network.link_counts()
            requests = {site: dict(grid.data_port_requests(site)) for site in SITES}
            accuracy = validated_accuracy(driver)
            rounds = driver.models.read("wan", "expt", "run")["data"][0]["rounds"]
            registration = driver.registrations.read("wan", SITES[0])["data"]
    assert registration["nodes"][0]["secure"] is True
    # every site holds evaluate rows: each round is one fit; the final model's loss is one
    # evaluate call after the last round (counted by the Workers: the requests cross the
    # links encrypted, so the links' own tally reads no request line)
    assert requests == {site: {"fit": ROUNDS, "evaluate": 1} for site in SITES}
    assert all(links[site]["a_to_b"]["requests"] == {} for site in SITES)
    # kept-alive TLS connections carry the rounds: fewer new connections than requests
    opened = {site: links[site]["a_to_b"]["connections"]
              - before[site]["a_to_b"]["connections"] for site in SITES}
    assert all(0 < count < ROUNDS + 1 for count in opened.values()), opened
    assert len(rounds) == ROUNDS
    assert all(report["participants"][site]["status"] == "ok"
               for report in rounds for site in SITES)
    assert accuracy > 0.9
    assert accuracy == pytest.approx(loopback_accuracy, abs=0.005)
    # the exchanges crossed the emulated links: a round cannot beat one round trip
    assert min(report["seconds"] for report in rounds) >= LINK.rtt_s
