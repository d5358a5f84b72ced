"""Worker flags: defaults of the seeds, the data port and the body limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergos_worker.config import (
    DEFAULT_DATA_PORT,
    DEFAULT_MAX_BODY_BYTES,
    WorkerConfig,
    build_worker_parser,
)
from synrest.node_config import ConfigError, NodeConfig


def test_defaults_follow_the_seeds() -> None:
    config = WorkerConfig.from_args(build_worker_parser().parse_args(["--insecure"]))
    assert config.data_port == DEFAULT_DATA_PORT == 8020
    assert config.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1024**3
    assert config.node.port == 5000
    assert config.node.data_dir == Path("/worker/data")
    assert config.node.outputs_dir == Path("/worker/outputs")


def test_flags_override_the_defaults() -> None:
    ns = build_worker_parser().parse_args(
        ["--insecure", "--data_port", "9100", "--max_body_bytes", "1000", "--data_dir", "/d",
         "--outputs_dir", "/o", "--port", "9000"])
    config = WorkerConfig.from_args(ns)
    assert (config.data_port, config.max_body_bytes) == (9100, 1000)
    assert config.node.data_dir == Path("/d") and config.node.outputs_dir == Path("/o")


@pytest.mark.parametrize(("data_port", "max_body_bytes", "words"), [
    (0, 10, "--data_port"), (5000, 10, "must differ"), (8020, 0, "--max_body_bytes"),
])
def test_unusable_values_are_rejected(data_port: int, max_body_bytes: int, words: str) -> None:
    node = NodeConfig(role="worker", node_id="w", insecure=True)
    with pytest.raises(ConfigError, match=words):
        WorkerConfig(node=node, data_port=data_port, max_body_bytes=max_body_bytes).validate()
