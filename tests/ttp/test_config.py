"""TTP flags: defaults, cluster settings and rejected values."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergos_ttp.config import QueueAddress, TTPConfig, build_ttp_parser
from synergos_ttp.engine import EngineSettings
from tests.support.certificates import write_ca


def _parse(argv: list[str]) -> TTPConfig:
    return TTPConfig.from_args(build_ttp_parser().parse_args(argv))


def test_defaults(tmp_path: Path) -> None:
    config = _parse(["--outputs_dir", str(tmp_path), "--insecure"])
    assert (config.mode, config.grid, config.queue) == ("basic", 0, None)
    assert config.mlflow_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert (config.max_model_parameters, config.job_workers) == (50_000_000, 2)
    assert config.node.role == "ttp" and config.node.port == 5000
    assert config.worker_ca is None


def test_worker_ca_reaches_the_engine_settings(tmp_path: Path) -> None:
    bundle = write_ca(tmp_path / "ca")[0]
    config = _parse(["--outputs_dir", str(tmp_path), "--worker_ca", str(bundle), "--insecure"])
    assert EngineSettings.from_ttp_config(config).worker_ca == bundle


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_a_missing_or_unreadable_worker_ca_is_a_usage_error_naming_the_flag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None) -> None:
    bundle = tmp_path / "ca.pem"
    if content is not None:
        bundle.write_text(content)
    with pytest.raises(SystemExit) as exited:
        build_ttp_parser().parse_args(["--worker_ca", str(bundle), "--insecure"])
    assert exited.value.code == 2
    assert "--worker_ca" in capsys.readouterr().err


def test_cluster_flags() -> None:
    config = _parse(["--grid", "2", "--queue", "rabbitmq", "mq.local", "5672",
                     "--mlflow_uri", "sqlite:////m/db", "--max_model_parameters",
                     "1000", "--job_workers", "4", "--insecure"])
    assert config.mode == "cluster" and config.grid == 2
    assert config.queue == QueueAddress("rabbitmq", "mq.local", 5672)
    assert (config.mlflow_uri, config.max_model_parameters, config.job_workers) == (
        "sqlite:////m/db", 1000, 4)


@pytest.mark.parametrize("argv", [
    ["--queue", "kafka", "h", "1"], ["--queue", "rabbitmq", "h"],
    ["--queue", "rabbitmq", "h", "port"], ["--grid", "-1"], ["--job_workers", "0"],
    ["--max_model_parameters", "0"],
])
def test_bad_flags_exit_with_usage_error(argv: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_ttp_parser().parse_args([*argv, "--insecure"])
    assert exited.value.code == 2
    assert "error" in capsys.readouterr().err


def test_config_from_namespace_validates() -> None:
    ns = build_ttp_parser().parse_args(["--insecure"])
    ns.job_workers = -3
    with pytest.raises(ValueError, match="job_workers"):
        TTPConfig.from_args(ns)
