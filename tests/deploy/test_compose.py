"""docker-compose.yml: both profiles validate with Compose v2 and wire the grid as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synrest.shutdown import EXIT_DEADLINE
from tests.deploy.tools import (
    ENV_EXAMPLE,
    MAKE_ENV_SCRIPT,
    PROFILES,
    make_env_file,
    read_env_file,
    run_compose,
)

REST_SERVICES = {
    "basic": {"ttp", "party-1", "party-2"},
    "cluster": {"director", "ttp-grid-0", "ttp-grid-1", "party-1-node-1", "party-1-node-2",
                "party-2-node-1", "party-2-node-2"},
}
EXPECTED_SERVICES = {
    "basic": REST_SERVICES["basic"] | {"datasets"},
    "cluster": REST_SERVICES["cluster"] | {"datasets", "mq", "mlflow"},
}
WORKER_PARTIES = {
    "party-1": "party_1", "party-2": "party_2",
    "party-1-node-1": "party_1", "party-1-node-2": "party_1",
    "party-2-node-1": "party_2", "party-2-node-2": "party_2",
}


def _volume(service: dict[str, Any], target: str) -> dict[str, Any]:
    matches = [volume for volume in service.get("volumes", []) if volume["target"] == target]
    assert len(matches) == 1, f"expected one mount at {target}, got {matches}"
    return matches[0]


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_validates_and_has_its_services(compose_models: dict, profile: str) -> None:
    assert set(compose_models[profile]["services"]) == EXPECTED_SERVICES[profile]


def test_compose_binary_rejects_an_invalid_file(filled_env: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  ttp:\n    image: synergos_ttp:synbasic\n"
                      "    not_a_compose_key: true\n")
    result = run_compose(filled_env, "config", "-q", compose_file=broken)
    assert result.returncode != 0
    assert "not_a_compose_key" in result.stderr


@pytest.mark.parametrize("profile", PROFILES)
def test_unfilled_env_example_is_refused(profile: str) -> None:
    result = run_compose(ENV_EXAMPLE, "--profile", profile, "config", "-q")
    assert result.returncode != 0
    assert "set SYNERGOS_" in result.stderr and "in .env" in result.stderr


def test_make_env_fills_every_empty_value_and_keeps_the_rest(tmp_path: Path) -> None:
    example = read_env_file(ENV_EXAMPLE)
    filled = read_env_file(make_env_file(tmp_path / ".env"))
    assert filled.keys() == example.keys()
    generated = [name for name, value in example.items() if not value]
    assert generated, ".env.example should leave the secrets empty"
    for name in generated:
        assert len(filled[name]) >= 16, name
    assert len({filled[name] for name in generated}) == len(generated), "secrets must differ"
    for name, value in example.items():
        if value:
            assert filled[name] == value
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0, "the env file must be private"


def test_make_env_never_overwrites_without_force(tmp_path: Path) -> None:
    existing = tmp_path / ".env"
    existing.write_text("KEEP=me\n")
    result = subprocess.run([sys.executable, str(MAKE_ENV_SCRIPT), "--output", str(existing)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "--force" in result.stderr
    assert existing.read_text() == "KEEP=me\n"


@pytest.mark.parametrize("profile", PROFILES)
def test_every_node_gets_its_own_token_from_the_env_file(
        compose_models: dict, filled_env: Path, profile: str) -> None:
    secrets = set(read_env_file(filled_env).values())
    services = compose_models[profile]["services"]
    tokens = [services[name]["environment"]["SYNERGOS_TOKEN"] for name in REST_SERVICES[profile]]
    assert all(token in secrets for token in tokens)
    assert len(set(tokens)) == len(tokens), "two nodes share a token"


@pytest.mark.parametrize("profile", PROFILES)
def test_rest_nodes_are_health_checked_on_health(compose_models: dict, profile: str) -> None:
    services = compose_models[profile]["services"]
    for name in REST_SERVICES[profile]:
        assert services[name]["healthcheck"]["test"] == [
            "CMD", "python", "-m", "syncommon.healthcheck"], name


@pytest.mark.parametrize("profile", PROFILES)
def test_rest_nodes_get_their_exit_deadline_before_a_kill(compose_models: dict,
                                                         profile: str) -> None:
    for name in REST_SERVICES[profile]:
        grace = compose_models[profile]["services"][name].get("stop_grace_period")
        assert grace is not None and _seconds(grace) >= EXIT_DEADLINE, (name, grace)


@pytest.mark.parametrize("profile", PROFILES)
def test_containers_run_without_capabilities_and_nodes_read_only(
        compose_models: dict, profile: str) -> None:
    for name, service in compose_models[profile]["services"].items():
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        if name in ("mq", "datasets"):  # they write beside their volumes (the broker's
            continue  # definitions; the one-shot job's central copy and manifest)
        assert service.get("read_only") is True, name
        assert "/tmp" in service.get("tmpfs", []), name


def _seconds(duration: str) -> float:
    """Compose's normalised duration ("1m30s", "90s") in seconds."""
    total, number = 0.0, ""
    for char in duration:
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number) * {"h": 3600, "m": 60, "s": 1}[char]
            number = ""
    return total


@pytest.mark.parametrize("profile", PROFILES)
def test_published_ports_listen_on_loopback_only(compose_models: dict, profile: str) -> None:
    for name, service in compose_models[profile]["services"].items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"


@pytest.mark.parametrize("profile", PROFILES)
def test_workers_see_only_their_party_read_only(compose_models: dict, profile: str) -> None:
    services = compose_models[profile]["services"]
    datasets = services["datasets"]
    assert datasets["entrypoint"] == ["synergos-datasets"]
    out_dir = datasets["command"][0]
    written = {volume["source"]: volume["target"] for volume in datasets["volumes"]}
    assert written == {f"{party}_data": f"{out_dir}/{party}" for party in ("party_1", "party_2")}
    outputs = set()
    for name in REST_SERVICES[profile] & set(WORKER_PARTIES):
        data = _volume(services[name], "/worker/data")
        party = WORKER_PARTIES[name]
        assert data["type"] == "volume" and data["source"] == f"{party}_data", name
        assert data["read_only"] is True, name
        assert services[name]["depends_on"]["datasets"]["condition"] == \
            "service_completed_successfully"
        outputs.add(_volume(services[name], "/worker/outputs")["source"])
    assert len(outputs) == len(REST_SERVICES[profile] & set(WORKER_PARTIES)), \
        "each Worker needs its own outputs volume"


@pytest.mark.parametrize("profile", PROFILES)
def test_no_mount_relies_on_a_volume_subpath(compose_models: dict, profile: str) -> None:
    """Docker Engine < 26 drops `volume.subpath` without an error, mounting the whole volume."""
    for name, service in compose_models[profile]["services"].items():
        for volume in service.get("volumes", []):
            assert "subpath" not in (volume.get("volume") or {}), f"{name}: {volume}"


def test_cluster_wires_queue_grids_and_mlflow(compose_models: dict, filled_env: Path) -> None:
    services = compose_models["cluster"]["services"]
    env = read_env_file(filled_env)
    assert services["mq"]["environment"]["SYNERGOS_MQ_PASSWORD"] == env["SYNERGOS_MQ_PASSWORD"]
    grids = []
    for name in ("director", "ttp-grid-0", "ttp-grid-1"):
        service = services[name]
        command = service["command"]
        queue = command[command.index("--queue") + 1:command.index("--queue") + 4]
        assert queue == ["rabbitmq", "mq", "5672"], name
        assert command[command.index("--mlflow_uri") + 1] == "http://mlflow:5500", name
        assert service["environment"]["SYNERGOS_MQ_USER"] == env["SYNERGOS_MQ_USER"], name
        assert service["environment"]["SYNERGOS_MQ_PASSWORD"] == env["SYNERGOS_MQ_PASSWORD"]
        assert service["depends_on"]["mq"]["condition"] == "service_healthy", name
        assert service["depends_on"]["mlflow"]["condition"] == "service_started", \
            f"{name}: a node tracks once it serves; its start must not wait on MLflow's"
        if "--grid" in command:
            grids.append(command[command.index("--grid") + 1])
    assert sorted(grids) == ["0", "1"]
    assert "--grid" not in services["director"]["command"]
    assert services["ttp-grid-0"]["build"]["target"] == "cluster"
    data_volumes = {_volume(services[name], "/orchestrator/data")["source"]
                    for name in ("director", "ttp-grid-0", "ttp-grid-1")}
    assert len(data_volumes) == 3, "the Director is the archive's only writer: no shared data"
    assert "rabbitmq-diagnostics" in services["mq"]["healthcheck"]["test"]
    assert services["mlflow"]["environment"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"


def test_basic_ttp_uses_the_basic_target(compose_models: dict) -> None:
    ttp = compose_models["basic"]["services"]["ttp"]
    assert ttp["build"]["target"] == "basic"
    assert "--grid" not in ttp["command"] and "--queue" not in ttp["command"]
    command = ttp["command"]
    assert command[command.index("--mlflow_uri") + 1] == "sqlite:////mlflow/mlflow.db", \
        "MLflow's store belongs on the /mlflow volume"
    assert {volume["target"] for volume in ttp["volumes"]} == {
        "/orchestrator/data", "/orchestrator/outputs", "/mlflow"}
