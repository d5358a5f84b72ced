"""Worker command-line flags on top of the common node flags, and the resulting `WorkerConfig`.

Worker flags: `--data_port` (default 8020: binary fit/evaluate/predict routes) and
`--max_body_bytes` (largest binary body accepted on the data port, default 1 GiB).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synergos_worker import ROLE
from synrest.flags import NodeArgumentParser, build_parser
from synrest.node_config import ConfigError, NodeConfig

DEFAULT_DATA_PORT = 8020
DEFAULT_MAX_BODY_BYTES = 1024**3


@dataclass(frozen=True)
class WorkerConfig:
    """The node's common config plus the Worker's data port and body limit."""

    node: NodeConfig
    data_port: int = DEFAULT_DATA_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def from_args(cls, ns: argparse.Namespace, node: NodeConfig | None = None) -> WorkerConfig:
        """Build and validate from parsed flags (`node` defaults to the flags' NodeConfig)."""
        node = node or NodeConfig.from_args(ns, ROLE)
        get: Callable[[str], Any] = vars(ns).get
        config = cls(
            node=node,
            data_port=DEFAULT_DATA_PORT if get("data_port") is None else get("data_port"),
            max_body_bytes=(DEFAULT_MAX_BODY_BYTES if get("max_body_bytes") is None
                            else get("max_body_bytes")),
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ConfigError naming the first unusable Worker flag."""
        if not 0 < self.data_port < 65536:
            raise ConfigError(f"--data_port {self.data_port} is outside 1-65535")
        if self.data_port == self.node.port:
            raise ConfigError("--data_port must differ from --port (the command port)")
        if self.max_body_bytes < 1:
            raise ConfigError("--max_body_bytes must be a positive number of bytes")

    def log_fields(self) -> dict[str, Any]:
        """The Worker settings as structured log fields."""
        return {"data_port": self.data_port, "max_body_bytes": self.max_body_bytes}


def build_worker_parser() -> NodeArgumentParser:
    """The common node parser extended with the Worker flags."""
    parser = build_parser(ROLE, "Synergos Worker: preprocesses a participant's private data "
                                "and trains, evaluates and predicts on it for the TTP")
    parser.add_argument("--data_port", type=int, default=DEFAULT_DATA_PORT,
                        help=f"port of the binary data routes (default {DEFAULT_DATA_PORT})")
    parser.add_argument("--max_body_bytes", type=int, default=DEFAULT_MAX_BODY_BYTES,
                        help="largest binary body accepted on the data port, in bytes "
                             "(default 1 GiB)")
    return parser
