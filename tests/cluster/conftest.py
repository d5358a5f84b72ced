"""A whole SynCluster on loopback: private RabbitMQ, a Director, two cluster TTPs and two
participants with one Worker per sub-grid each, all real processes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from synergos import Driver
from synergos_datasets.builder import build_examples
from synergos_testing.local_broker import RabbitBroker, running_broker
from tests.engine.local_grid import worker_token
from tests.support.processes import LOOPBACK, ServiceProcess, free_port

DIRECTOR_TOKEN = "cluster-test-director-token-0123456789"
PARTICIPANTS = ("party_a", "party_b")
GRIDS = 2


@dataclass
class Cluster:
    """The processes of the test cluster and how to reach them."""

    home: Path
    broker: RabbitBroker
    director: ServiceProcess | None = None
    ttps: list[ServiceProcess] = field(default_factory=list)
    workers: dict[tuple[str, int], tuple[ServiceProcess, int]] = field(default_factory=dict)

    def driver(self) -> Driver:
        """A Driver for the Director."""
        assert self.director is not None
        return Driver(host=LOOPBACK, port=self.director.port, token=DIRECTOR_TOKEN,
                      timeout=60)

    def start_ttp(self, grid: int) -> ServiceProcess:
        """Start a cluster TTP for sub-grid `grid` (the outputs folder is shared, as the
        compose file's volume is, so any TTP can read a model trained by another)."""
        port = free_port()
        log_path = self.home / f"ttp_{grid}_{port}.log"
        ttp = ServiceProcess(
            module="synergos_ttp", port=port, log_path=log_path,
            args=["--host", LOOPBACK, "--port", str(port), "--id", f"ttp_grid_{grid}",
                  "--grid", str(grid), "--queue", "rabbitmq", LOOPBACK,
                  str(self.broker.amqp_port), "--data_dir", str(self.home / f"ttp_{grid}"),
                  "--outputs_dir", str(self.home / "outputs"), "--insecure"])
        ttp.start(wait_for_health=True, timeout=120)
        if grid < len(self.ttps):
            self.ttps[grid] = ttp
        else:
            self.ttps.append(ttp)
        return ttp

    def nodes_of(self, participant_id: str) -> list[dict[str, object]]:
        """The registration `nodes` of a participant: its Worker of every sub-grid."""
        return [{"host": LOOPBACK, "port": self.workers[participant_id, grid][1],
                 "f_port": self.workers[participant_id, grid][0].port}
                for grid in range(GRIDS)]

    def broker_queue_depth(self, queue: str) -> int:
        """Messages waiting in `queue` of the test broker."""
        import pika

        connection = pika.BlockingConnection(self.broker.connection_parameters())
        try:
            declared = connection.channel().queue_declare(queue=queue, passive=True)
            return declared.method.message_count
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop every process."""
        services = [self.director, *self.ttps, *(w for w, _ in self.workers.values())]
        for service in services:
            if service is not None:
                with contextlib.suppress(Exception):
                    service.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Broker + Director + 2 cluster TTPs + 2 participants x 2 Workers."""
    home = tmp_path_factory.mktemp("cluster")
    build_examples(home / "datasets", parties=2, names=["breast_cancer_iid"])
    with running_broker(home / "rabbitmq") as broker:
        grid = Cluster(home, broker)
        try:
            for index, participant_id in enumerate(PARTICIPANTS, start=1):
                for node in range(GRIDS):
                    port, data_port = free_port(), free_port()
                    worker = ServiceProcess(
                        module="synergos_worker", port=port,
                        log_path=home / f"{participant_id}_{node}.log",
                        args=["--host", LOOPBACK, "--port", str(port), "--data_port",
                              str(data_port), "--data_dir",
                              str(home / "datasets" / f"party_{index}"), "--outputs_dir",
                              str(home / f"{participant_id}_{node}"), "--token",
                              worker_token(participant_id), "--cpus", "1"])
                    grid.workers[participant_id, node] = (worker.start(wait_for_health=False),
                                                          data_port)
            port = free_port()
            grid.director = ServiceProcess(
                module="synergos_director", port=port, log_path=home / "director.log",
                args=["--host", LOOPBACK, "--port", str(port), "--queue", "rabbitmq", LOOPBACK,
                      str(broker.amqp_port), "--data_dir", str(home / "director"),
                      "--outputs_dir", str(home / "outputs"), "--token", DIRECTOR_TOKEN],
            ).start(wait_for_health=True, timeout=120)
            for grid_index in range(GRIDS):
                grid.start_ttp(grid_index)
            for worker, _ in grid.workers.values():
                worker.wait_healthy(120)
            yield grid
        finally:
            grid.stop()
