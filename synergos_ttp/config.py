"""TTP command-line flags on top of the common node flags, and the resulting `TTPConfig`.

TTP flags: `--grid I` (sub-grid served in cluster mode), `--queue rabbitmq HOST PORT`
(cluster mode), `--mlflow_uri` (default `sqlite:///<outputs_dir>/mlflow.db`),
`--max_model_parameters` (default 50 M), `--job_workers` (default 2) and `--worker_ca PATH`
(CA bundle verifying the certificates of Workers registered `secure: true`; default the
system CAs).
"""

from __future__ import annotations

import argparse
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synergos_ttp.api.services import DEFAULT_MAX_MODEL_PARAMETERS
from synrest.flags import NodeArgumentParser, build_parser
from synrest.node_config import ConfigError, NodeConfig

ROLE = "ttp"
DEFAULT_JOB_WORKERS = 2
QUEUE_KINDS = ("rabbitmq",)


@dataclass(frozen=True)
class QueueAddress:
    """Where the message queue of a SynCluster lives (`--queue rabbitmq HOST PORT`)."""

    kind: str
    host: str
    port: int

    @classmethod
    def parse(cls, values: Sequence[str]) -> QueueAddress:
        """Parse `[kind, host, port]`; raises ConfigError naming the problem."""
        if len(values) != 3:
            raise ConfigError("--queue takes three values: rabbitmq HOST PORT")
        kind, host, port_text = values
        if kind not in QUEUE_KINDS:
            raise ConfigError(f"--queue: unknown queue kind {kind!r}; supported: rabbitmq")
        if not host:
            raise ConfigError("--queue: HOST must not be empty")
        try:
            port = int(port_text)
        except ValueError:
            raise ConfigError(f"--queue: PORT must be an integer, got {port_text!r}") from None
        if not 0 < port < 65536:
            raise ConfigError(f"--queue: PORT {port} is outside 1-65535")
        return cls(kind, host, port)


@dataclass(frozen=True)
class TTPConfig:
    """The node's common config plus the TTP's own settings; `mode` is basic or cluster."""

    node: NodeConfig
    grid: int = 0
    queue: QueueAddress | None = None
    mlflow_uri: str = ""
    max_model_parameters: int = DEFAULT_MAX_MODEL_PARAMETERS
    job_workers: int = DEFAULT_JOB_WORKERS
    worker_ca: Path | None = None

    @property
    def mode(self) -> str:
        """`cluster` when a queue is configured, else `basic`."""
        return "cluster" if self.queue is not None else "basic"

    @classmethod
    def from_args(cls, ns: argparse.Namespace, node: NodeConfig | None = None) -> TTPConfig:
        """Build and validate from parsed flags (`node` defaults to the flags' NodeConfig)."""
        node = node or NodeConfig.from_args(ns, ROLE)
        get: Callable[[str], Any] = vars(ns).get
        queue = QueueAddress.parse(get("queue")) if get("queue") else None
        mlflow_uri = get("mlflow_uri") or f"sqlite:///{node.outputs_dir.resolve()}/mlflow.db"
        config = cls(
            node=node,
            grid=0 if get("grid") is None else get("grid"),
            queue=queue,
            mlflow_uri=mlflow_uri,
            max_model_parameters=(DEFAULT_MAX_MODEL_PARAMETERS
                                  if get("max_model_parameters") is None
                                  else get("max_model_parameters")),
            job_workers=DEFAULT_JOB_WORKERS if get("job_workers") is None else get("job_workers"),
            worker_ca=Path(get("worker_ca")) if get("worker_ca") else None,
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ConfigError naming the first unusable TTP flag."""
        if self.grid < 0:
            raise ConfigError("--grid cannot be negative")
        if self.max_model_parameters < 1:
            raise ConfigError("--max_model_parameters must be at least 1")
        if self.job_workers < 1:
            raise ConfigError("--job_workers must be at least 1")
        if not self.mlflow_uri.strip():
            raise ConfigError("--mlflow_uri must not be empty")
        if self.worker_ca is not None:
            _check_ca_bundle(self.worker_ca)

    def log_fields(self) -> dict[str, Any]:
        """The TTP settings as structured log fields (the node's own are logged at start)."""
        return {
            "mode": self.mode, "grid": self.grid,
            "queue": None if self.queue is None else self.queue.kind,
            "max_model_parameters": self.max_model_parameters,
            "job_workers": self.job_workers,
            "worker_ca": None if self.worker_ca is None else str(self.worker_ca),
        }


def _check_ca_bundle(path: Path) -> None:
    """Raise ConfigError unless `path` is a PEM file holding at least one CA certificate."""
    if not path.is_file():
        raise ConfigError(f"--worker_ca: no such file {str(path)!r}")
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as error:
        raise ConfigError(f"--worker_ca: {str(path)!r} is not a PEM CA bundle: {error}"
                          ) from None


def build_ttp_parser() -> NodeArgumentParser:
    """The common node parser extended with the TTP flags; parsing runs the TTPConfig's
    checks, so an unusable value is a usage error naming its flag."""
    parser = build_parser(ROLE, "Synergos TTP: orchestrates federated training across Workers")
    parser.add_argument("--grid", "-g", type=int, default=0,
                        help="index of the sub-grid this TTP serves in cluster mode (default 0)")
    parser.add_argument("--queue", "-mq", nargs="+", default=None,
                        metavar="VALUE", help="cluster mode: 'rabbitmq HOST PORT'")
    parser.add_argument("--mlflow_uri", default=None,
                        help="MLflow tracking URI (default sqlite:///<outputs_dir>/mlflow.db)")
    parser.add_argument("--max_model_parameters", type=int,
                        default=DEFAULT_MAX_MODEL_PARAMETERS,
                        help="largest model (parameter count) an experiment may declare "
                             "(default 50000000)")
    parser.add_argument("--job_workers", type=int, default=DEFAULT_JOB_WORKERS,
                        help="background jobs run at the same time (default 2)")
    parser.add_argument("--worker_ca", default=None, metavar="PATH",
                        help="PEM CA bundle verifying the certificates of Workers registered "
                             "secure: true (default: the system CAs)")
    parser.config_check = TTPConfig.from_args
    return parser
