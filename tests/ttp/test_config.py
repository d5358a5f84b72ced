"""TTP flags: defaults, cluster settings and rejected values."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergos_ttp.config import QueueAddress, TTPConfig, build_ttp_parser


def _parse(argv: list[str]) -> TTPConfig:
    return TTPConfig.from_args(build_ttp_parser().parse_args(argv))


def test_defaults(tmp_path: Path) -> None:
    config = _parse(["--outputs_dir", str(tmp_path), "--insecure"])
    assert (config.mode, config.grid, config.queue) == ("basic", 0, None)
    assert config.mlflow_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert (config.max_model_parameters, config.job_workers) == (50_000_000, 2)
    assert config.node.role == "ttp" and config.node.port == 5000


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
