"""Every command line in docker-compose.yml and in the docs' `docker run` examples is accepted
by the parser of the program its container runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.command_lines import (
    SERVICE_MODULES,
    DockerRun,
    check_container_command,
    docker_run_blocks,
    image_repository,
    parse_docker_run,
)
from tests.deploy.dockerfile_model import collected, read_stages
from tests.deploy.tools import DEPLOYMENT_DOC, DOCKERFILES, PROFILES, README

# Image repository -> Dockerfile role, for the ports and volumes each image declares.
IMAGE_ROLES = {"synergos_ttp": "ttp", "synergos_worker": "worker",
               "synergos_director": "director", "synergos_mq": "mq"}
TTP_TARGETS = {"synergos_ttp:synbasic": "basic", "synergos_ttp:syncluster": "cluster",
               "synergos_director:syncluster": "cluster"}  # the Director's image is built FROM it
DOCUMENTED_IMAGES = {"synergos_ttp:synbasic", "synergos_ttp:syncluster", "synergos_worker:latest",
                     "synergos_director:syncluster", "synergos_mq:latest"}


def _documented_runs() -> list[DockerRun]:
    runs = []
    for path in (DEPLOYMENT_DOC, README):
        if path.exists():
            runs += [parse_docker_run(block)
                     for block in docker_run_blocks(path.read_text(encoding="utf-8"))]
    return runs


def _compose_commands(compose_models: dict) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = {}
    for profile in PROFILES:
        services.update(compose_models[profile]["services"])
    return services


def test_deployment_doc_has_a_docker_run_for_every_image() -> None:
    assert DEPLOYMENT_DOC.exists(), "docs/deployment.md holds the docker run examples"
    missing = DOCUMENTED_IMAGES - {run.image for run in _documented_runs()}
    assert not missing, f"no docker run example for {sorted(missing)}"


def _run_id(run: DockerRun) -> str:
    return "-".join([run.image, *run.values("--name")])


@pytest.mark.parametrize("run", _documented_runs(), ids=_run_id)
def test_documented_docker_run_is_accepted(run: DockerRun, tmp_path: Path) -> None:
    assert image_repository(run.image) in IMAGE_ROLES, f"unknown image {run.image}"
    entrypoint = run.values("--entrypoint")
    check_container_command(run.image, entrypoint or None, run.args, tmp_path)
    if entrypoint:
        return
    target = TTP_TARGETS.get(run.image)
    stages = read_stages(DOCKERFILES["ttp" if target else IMAGE_ROLES[image_repository(run.image)]])
    image_stage = next(stage for stage in stages if stage.name == target) if target \
        else stages[-1]
    exposed = collected(stages, image_stage, "EXPOSE")
    volumes = collected(stages, image_stage, "VOLUME")
    for mapping in run.values("-p", "--publish"):
        assert mapping.startswith("127.0.0.1:"), f"{run.image}: {mapping} publishes beyond " \
            "loopback; the docs publish on 127.0.0.1 by default"
        container_port = mapping.rsplit(":", 1)[-1].split("/")[0]
        assert container_port in exposed, f"{run.image} does not expose {container_port}"
    for mount in run.values("-v", "--volume"):
        parts = mount.split(":")
        target, mode = parts[1], parts[2] if len(parts) > 2 else "rw"
        assert target in volumes or mode == "ro", \
            f"{run.image}: writable mount {target} is not one of its volumes {sorted(volumes)}"


def test_every_compose_command_is_accepted(compose_models: dict, tmp_path: Path) -> None:
    problems, checked = [], set()
    for name, service in sorted(_compose_commands(compose_models).items()):
        command = service.get("command") or []
        try:
            parsed = check_container_command(service["image"], service.get("entrypoint"),
                                             command, tmp_path)
        except AssertionError as error:
            problems.append(f"{name}: {error}")
            continue
        checked.add(name)
        if image_repository(service["image"]) in SERVICE_MODULES and not service.get(
                "entrypoint") and not (parsed.id and parsed.id in command):
            problems.append(f"{name}: should set its own --id")
    assert not problems, "\n".join(problems)
    assert {"mq", "datasets", "mlflow"} <= checked


def test_compose_queue_and_mlflow_hosts_are_services(compose_models: dict) -> None:
    services = compose_models["cluster"]["services"]
    for name, service in services.items():
        command = service.get("command") or []
        if "--queue" in command:
            host = command[command.index("--queue") + 2]
            assert host in services, f"{name} queues on unknown host {host}"
        if "--mlflow_uri" in command:
            uri = command[command.index("--mlflow_uri") + 1]
            host = uri.split("//", 1)[1].split(":", 1)[0]
            assert host in services, f"{name} logs to unknown MLflow host {host}"
            allowed = services[host]["command"]
            assert host in allowed[allowed.index("--allowed-hosts") + 1].split(","), \
                "MLflow must accept the Host header the nodes send"
