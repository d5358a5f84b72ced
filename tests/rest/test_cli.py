"""Common flags, NodeConfig validation and resource caps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from synrest.flags import build_parser
from synrest.node_config import DEFAULT_MAX_CONTENT_LENGTH, ConfigError, NodeConfig
from synrest.resource_caps import apply_resource_caps


@pytest.mark.parametrize(("role", "data_dir", "outputs_dir"), [
    ("ttp", "/orchestrator/data", "/orchestrator/outputs"),
    ("director", "/orchestrator/data", "/orchestrator/outputs"),
    ("worker", "/worker/data", "/worker/outputs"),
])
def test_defaults_per_role(role: str, data_dir: str, outputs_dir: str) -> None:
    ns = build_parser(role, "test").parse_args([])
    config = NodeConfig.from_args(ns, role)
    assert config.data_dir == Path(data_dir) and config.outputs_dir == Path(outputs_dir)
    prefix, _, suffix = config.node_id.partition("/")
    assert prefix == role and uuid.UUID(suffix)
    assert (config.host, config.port) == ("0.0.0.0", 5000)
    assert config.logging_variant == ["basic"]
    assert config.logging_resolution == 5.0
    assert config.max_content_length == DEFAULT_MAX_CONTENT_LENGTH == 64 * 1024 * 1024
    assert not (config.insecure or config.censored or config.debug or config.tls_enabled)


def test_seed_flags_parse_with_short_forms() -> None:
    ns = build_parser("ttp", "test").parse_args(
        ["-i", "ttp_synbasic", "-l", "graylog", "172.30.0.4", "9300", "-r", "2.5", "--cpus",
         "2", "--gpus", "0", "-c", "-d", "--port", "5001"])
    config = NodeConfig.from_args(ns, "ttp")
    assert config.node_id == "ttp_synbasic"
    assert config.logging_variant == ["graylog", "172.30.0.4", "9300"]
    assert (config.logging_resolution, config.cpus, config.gpus) == (2.5, 2, 0)
    assert config.censored and config.debug and config.port == 5001


@pytest.mark.parametrize("argv", [
    ["-l", "graylog", "host-only"],
    ["-l", "bogus"],
    ["-l", "basic", "extra"],
    ["-l", "graylog", "h", "notaport"],
    ["-l", "graylog", "h", "9300", "carrier-pigeon"],
    ["--tls_cert", "/nonexistent/cert.pem"],
    ["--port", "70000"],
    ["-r", "0"],
    ["--cpus", "0"],
    ["--insecure", "--token", "0123456789abcdef0123"],
])
def test_bad_flags_exit_with_usage_error(argv: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser("worker", "test").parse_args(argv)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_parser_is_extensible_with_role_flags() -> None:
    parser = build_parser("worker", "test")
    parser.add_argument("--data_port", type=int, default=8020)
    ns = parser.parse_args(["--data_port", "9020"])
    assert ns.data_port == 9020
    assert NodeConfig.from_args(ns, "worker").port == 5000


def test_token_never_appears_in_config_repr() -> None:
    ns = build_parser("worker", "test").parse_args(["--token", "very-secret-token-1234567"])
    config = NodeConfig.from_args(ns, "worker")
    assert config.token == "very-secret-token-1234567"
    assert "very-secret" not in repr(config)
    assert "very-secret" not in json.dumps(config.log_fields())


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        build_parser("gardener", "test")


def test_from_args_validates_programmatic_namespaces() -> None:
    ns = build_parser("worker", "test").parse_args([])
    ns.tls_key = "/some/key.pem"
    with pytest.raises(ConfigError, match="together"):
        NodeConfig.from_args(ns, "worker")


CAPS_PROBE = """
import json, os, sys, torch
from synrest.resource_caps import apply_resource_caps
applied = apply_resource_caps(int(sys.argv[1]), int(sys.argv[2]))
print(json.dumps({"threads": torch.get_num_threads(), "applied": applied,
                  "cuda": os.environ["CUDA_VISIBLE_DEVICES"]}))
"""


def test_resource_caps_in_a_fresh_process() -> None:
    env = {key: value for key, value in os.environ.items() if key != "CUDA_VISIBLE_DEVICES"}
    result = subprocess.run([sys.executable, "-c", CAPS_PROBE, "1", "0"], env=env,
                            capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["threads"] == 1
    assert report["applied"]["torch_threads"] == 1
    assert report["cuda"] == ""


@pytest.mark.parametrize(("preset", "gpus", "expected_cuda"), [
    (None, 2, "0,1"),
    ("3,5,7", 2, "3,5"),
    ("3,5,7", 0, ""),
])
def test_gpu_cap_keeps_the_first_visible_devices(monkeypatch: pytest.MonkeyPatch,
                                                 preset: str | None, gpus: int,
                                                 expected_cuda: str) -> None:
    if preset is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", preset)
    applied = apply_resource_caps(None, gpus)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == expected_cuda
    assert applied == {"cuda_visible_devices": expected_cuda}
