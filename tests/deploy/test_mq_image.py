"""docker/mq: definitions.json equals synmanager's topology, the entrypoint writes the only
broker account from the environment, and a real RabbitMQ boots with both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pika
import pika.exceptions
import pytest

from synergos_testing.local_broker import RabbitBroker
from synmanager import topology
from tests.deploy.tools import MQ_DIR
from tests.support.processes import LOOPBACK

ENTRYPOINT = MQ_DIR / "synergos-mq-entrypoint.sh"
DEFINITIONS = MQ_DIR / "definitions.json"
MQ_USER = "synergos"
MQ_PASSWORD = "s3cret-Password_for.tests~0123"


def _definitions() -> dict:
    return json.loads(DEFINITIONS.read_text(encoding="utf-8"))


def _run_entrypoint(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ["PATH"], "SYNERGOS_MQ_DEFINITIONS_DIR": str(folder), **env}
    return subprocess.run(["sh", str(ENTRYPOINT), "echo", "started"], capture_output=True,
                          text=True, env=environment, timeout=30)


def test_definitions_declare_exactly_synmanagers_topology() -> None:
    definitions = _definitions()
    routes = topology.ROUTES.values()
    assert [vhost["name"] for vhost in definitions["vhosts"]] == ["/"]
    assert {(item["name"], item["type"]) for item in definitions["exchanges"]} == {
        (route.exchange, route.exchange_type) for route in routes}
    assert {item["name"] for item in definitions["queues"]} == set(topology.ROUTES)
    assert {(item["source"], item["destination"], item["routing_key"])
            for item in definitions["bindings"]} == {
        (route.exchange, route.queue, route.routing_key) for route in routes}
    for item in definitions["exchanges"] + definitions["queues"]:
        assert item["durable"] is True and item["auto_delete"] is False, item["name"]
        assert item["arguments"] == {} and item["vhost"] == "/", item["name"]
    assert all(item["destination_type"] == "queue" for item in definitions["bindings"])


def test_definitions_hold_no_credentials() -> None:
    definitions = _definitions()
    assert "users" not in definitions and "permissions" not in definitions


def test_entrypoint_writes_the_account_then_runs_the_command(tmp_path: Path) -> None:
    result = _run_entrypoint(tmp_path, SYNERGOS_MQ_USER=MQ_USER, SYNERGOS_MQ_PASSWORD=MQ_PASSWORD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"
    users_file = tmp_path / "20-users.json"
    assert users_file.stat().st_mode & 0o077 == 0, "the account file must be private"
    document = json.loads(users_file.read_text(encoding="utf-8"))
    assert document["users"] == [{"name": MQ_USER, "password": MQ_PASSWORD,
                                  "tags": "administrator"}]
    assert document["permissions"][0]["user"] == MQ_USER


@pytest.mark.parametrize(("env", "complaint"), [
    ({}, "set SYNERGOS_MQ_PASSWORD"),
    ({"SYNERGOS_MQ_PASSWORD": "short-123"}, "at least 16"),
    ({"SYNERGOS_MQ_PASSWORD": 'quote"breaks-json-0123456'}, "may only contain"),
    ({"SYNERGOS_MQ_PASSWORD": MQ_PASSWORD, "SYNERGOS_MQ_USER": "guest"}, "must not be 'guest'"),
    ({"SYNERGOS_MQ_PASSWORD": MQ_PASSWORD, "SYNERGOS_MQ_USER": "a b"}, "SYNERGOS_MQ_USER must"),
])
def test_entrypoint_refuses_unusable_credentials(tmp_path: Path, env: dict, complaint: str
                                                 ) -> None:
    result = _run_entrypoint(tmp_path, **env)
    assert result.returncode == 64
    assert complaint in result.stderr
    assert "started" not in result.stdout
    assert not (tmp_path / "20-users.json").exists()


class DefinitionsBroker(RabbitBroker):
    """A private test broker booted like the MQ image: definitions loaded from a folder."""

    def __init__(self, tmp_dir: Path, definitions_dir: Path) -> None:
        super().__init__(tmp_dir)
        self.definitions_dir = definitions_dir

    def _write_config(self) -> None:
        super()._write_config()
        image_conf = (MQ_DIR / "rabbitmq.conf").read_text(encoding="utf-8")
        local_conf = image_conf.replace("/etc/rabbitmq/definitions.d", str(self.definitions_dir))
        with open(self.tmp_dir / "rabbitmq.conf", "a", encoding="utf-8") as conf:
            conf.write(local_conf)

    def connection_parameters(self, **overrides: object) -> pika.ConnectionParameters:
        """Connect as the account the entrypoint wrote (guest does not exist here)."""
        settings: dict[str, object] = {
            "host": LOOPBACK, "port": self.amqp_port,
            "credentials": pika.PlainCredentials(MQ_USER, MQ_PASSWORD)}
        settings.update(overrides)
        return pika.ConnectionParameters(**settings)


@pytest.fixture(scope="module")
def image_like_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DefinitionsBroker]:
    """A real RabbitMQ started with docker/mq's conf, definitions and generated account."""
    root = tmp_path_factory.mktemp("mq-image")
    definitions_dir = root / "definitions.d"
    definitions_dir.mkdir()
    shutil.copy(DEFINITIONS, definitions_dir / "10-topology.json")
    written = _run_entrypoint(definitions_dir, SYNERGOS_MQ_USER=MQ_USER,
                              SYNERGOS_MQ_PASSWORD=MQ_PASSWORD)
    assert written.returncode == 0, written.stderr
    broker = DefinitionsBroker(root / "broker", definitions_dir)
    broker.tmp_dir.mkdir()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.integration
def test_broker_boots_with_topology_and_only_the_configured_account(
        image_like_broker: DefinitionsBroker) -> None:
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(image_like_broker.connection_parameters(
            credentials=pika.PlainCredentials("guest", "guest"), connection_attempts=1))
    connection = pika.BlockingConnection(image_like_broker.connection_parameters())
    try:
        channel = connection.channel()
        for queue in topology.ROUTES:
            assert channel.queue_declare(queue=queue, passive=True).method.message_count == 0
        topology.declare_topology(channel)  # same properties: no PRECONDITION_FAILED
        train = topology.route_for(topology.TRAIN_QUEUE)
        channel.confirm_delivery()
        channel.basic_publish(train.exchange, train.routing_key, b'{"process": "train"}',
                              mandatory=True)
        method, _, body = channel.basic_get(topology.TRAIN_QUEUE, auto_ack=True)
        assert method is not None and body == b'{"process": "train"}'
    finally:
        connection.close()
