"""Common command-line flags of every REST node, the resulting `NodeConfig`, and resource caps.

Each service extends the parser returned by `build_parser` with its own flags (the Worker's
`--data_port`, the TTP's `--grid`/`--queue`/`--mlflow_uri`) before parsing.
"""

from __future__ import annotations

import argparse
import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synlogger import DEFAULT_RESOLUTION, parse_logging_variant
from synrest.port_guard import DATA_LIMITS, REST_LIMITS, PortLimits

ROLE_DIRECTORIES = {
    "ttp": ("/orchestrator/data", "/orchestrator/outputs"),
    "director": ("/orchestrator/data", "/orchestrator/outputs"),
    "worker": ("/worker/data", "/worker/outputs"),
}
DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 5000
DEFAULT_MAX_CONTENT_LENGTH = 64 * 1024 * 1024


class ConfigError(ValueError):
    """A flag value (or a combination of flags) that a node cannot start with."""


@dataclass(frozen=True)
class NodeConfig:
    """Everything the common flags configure for one node; `token` is the `--token` value."""

    role: str
    node_id: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = Path("/worker/data")
    outputs_dir: Path = Path("/worker/outputs")
    token: str | None = field(default=None, repr=False)
    insecure: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    logging_variant: list[str] = field(default_factory=lambda: ["basic"])
    logging_resolution: float = DEFAULT_RESOLUTION
    cpus: int | None = None
    gpus: int | None = None
    censored: bool = False
    debug: bool = False
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
    rest_limits: PortLimits = REST_LIMITS
    data_limits: PortLimits = DATA_LIMITS

    def health(self) -> dict[str, str]:
        """What `GET /health` reports about this node, on every port it serves."""
        return {"status": "ok", "node_id": self.node_id, "role": self.role}

    @property
    def tls_enabled(self) -> bool:
        """True when both a certificate and a key are configured."""
        return self.tls_cert is not None and self.tls_key is not None

    @classmethod
    def from_args(cls, ns: argparse.Namespace, role: str) -> NodeConfig:
        """Build and validate the config from parsed flags; raise ConfigError on bad values."""
        data_default, outputs_default = _role_directories(role)
        get = vars(ns).get
        config = cls(
            role=role,
            node_id=get("id") or f"{role}/{uuid.uuid4()}",
            host=get("host") or DEFAULT_HOST,
            port=DEFAULT_PORT if get("port") is None else get("port"),
            data_dir=Path(get("data_dir") or data_default),
            outputs_dir=Path(get("outputs_dir") or outputs_default),
            token=get("token"),
            insecure=bool(get("insecure")),
            tls_cert=Path(get("tls_cert")) if get("tls_cert") else None,
            tls_key=Path(get("tls_key")) if get("tls_key") else None,
            logging_variant=list(get("logging_variant") or ["basic"]),
            logging_resolution=(DEFAULT_RESOLUTION if get("logging_resolution") is None
                                else float(get("logging_resolution"))),
            cpus=get("cpus"),
            gpus=get("gpus"),
            censored=bool(get("censored")),
            debug=bool(get("debug")),
            max_content_length=(DEFAULT_MAX_CONTENT_LENGTH if get("max_content_length") is None
                                else get("max_content_length")),
            rest_limits=_limits_from(get, "", REST_LIMITS),
            data_limits=_limits_from(get, "data_", DATA_LIMITS),
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ConfigError naming the first flag whose value is unusable."""
        if not 0 < self.port < 65536:
            raise ConfigError(f"--port {self.port} is outside 1-65535")
        try:
            parse_logging_variant(self.logging_variant)
        except ValueError as exc:
            raise ConfigError(f"--logging_variant: {exc}") from None
        if not math.isfinite(self.logging_resolution) or self.logging_resolution <= 0:
            raise ConfigError("--logging_resolution must be a positive number of seconds")
        if self.cpus is not None and self.cpus < 1:
            raise ConfigError("--cpus must be at least 1")
        if self.gpus is not None and self.gpus < 0:
            raise ConfigError("--gpus cannot be negative")
        if self.max_content_length < 1:
            raise ConfigError("--max_content_length must be a positive number of bytes")
        problems = self.rest_limits.problems("") + self.data_limits.problems("data_")
        if not self.rest_limits.min_body_rate > 0 or self.rest_limits.body_grace < 0:
            problems.append("--min_body_rate must be positive and --body_grace not negative")
        if problems:
            raise ConfigError(problems[0])
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("--tls_cert and --tls_key must be given together")
        for flag, path in (("--tls_cert", self.tls_cert), ("--tls_key", self.tls_key)):
            if path is not None and not path.is_file():
                raise ConfigError(f"{flag}: no such file {path}")
        if self.insecure and self.token:
            raise ConfigError("--insecure and --token contradict each other; pick one")

    def log_fields(self) -> dict[str, Any]:
        """The config as structured log fields, without the token."""
        return {
            "node_id": self.node_id, "host": self.host, "port": self.port,
            "data_dir": str(self.data_dir), "outputs_dir": str(self.outputs_dir),
            "insecure": self.insecure, "tls": self.tls_enabled,
            "logging_variant": self.logging_variant[0],
            "logging_resolution": self.logging_resolution, "cpus": self.cpus,
            "gpus": self.gpus, "censored": self.censored, "debug": self.debug,
            "max_content_length": self.max_content_length,
            "rest_limits": vars(self.rest_limits), "data_limits": vars(self.data_limits),
        }


class _LoggingVariantAction(argparse.Action):
    """Validates `--logging_variant basic | graylog HOST PORT [tcp|udp]` at parse time."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        try:
            parse_logging_variant(values)
        except ValueError as exc:
            raise argparse.ArgumentError(self, str(exc)) from None
        setattr(namespace, self.dest, list(values))


class NodeArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that fills `--id` and rejects unusable flag combinations."""

    def __init__(self, role: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.role = role

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        ns, rest = super().parse_known_args(args, namespace)
        if getattr(ns, "id", None) is None:
            ns.id = f"{self.role}/{uuid.uuid4()}"
        try:
            NodeConfig.from_args(ns, self.role)
        except ConfigError as exc:
            self.error(str(exc))
        return ns, rest


def build_parser(role: str, description: str) -> NodeArgumentParser:
    """Return a parser with the flags every node shares; add role-specific flags to it."""
    data_default, outputs_default = _role_directories(role)
    parser = NodeArgumentParser(role=role, description=description)
    parser.add_argument("--id", "-i", default=None,
                        help=f"node id, also the logger name (default: {role}/<uuid4>)")
    parser.add_argument("--logging_variant", "-l", nargs="+", default=["basic"],
                        action=_LoggingVariantAction, metavar="VARIANT",
                        help="'basic' (JSON lines on stderr) or 'graylog HOST PORT [tcp|udp]'")
    parser.add_argument("--logging_resolution", "-r", type=float, default=DEFAULT_RESOLUTION,
                        help="seconds between system-metric log events (default 5)")
    parser.add_argument("--cpus", type=int, default=None, help="cap the CPU threads used")
    parser.add_argument("--gpus", type=int, default=None, help="cap the GPUs visible")
    parser.add_argument("--censored", "-c", action="store_true",
                        help="remove hosts, IP addresses, ports and paths from every log event")
    parser.add_argument("--debug", "-d", action="store_true", help="log at DEBUG level")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"command port (default {DEFAULT_PORT})")
    parser.add_argument("--data_dir", default=data_default,
                        help=f"data folder (default {data_default})")
    parser.add_argument("--outputs_dir", default=outputs_default,
                        help=f"outputs folder (default {outputs_default})")
    parser.add_argument("--token", default=None,
                        help="bearer token clients must send (prefer env SYNERGOS_TOKEN; "
                             "default: generated once and stored in DATA_DIR/.synergos_token)")
    parser.add_argument("--insecure", action="store_true",
                        help="turn authentication off (trusted networks only)")
    parser.add_argument("--tls_cert", default=None, help="PEM certificate to serve HTTPS")
    parser.add_argument("--tls_key", default=None, help="PEM private key for --tls_cert")
    parser.add_argument("--max_content_length", type=int, default=DEFAULT_MAX_CONTENT_LENGTH,
                        help="largest JSON request body accepted, in bytes (default 64 MiB)")
    _add_limit_flags(parser)
    return parser


def _add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """The limits on peers of the REST port (`--...`) and of a data port (`--data_...`)."""
    group = parser.add_argument_group("limits on peers (docs/deployment.md)")
    for prefix, port, limits in (("", "the REST port", REST_LIMITS),
                                 ("data_", "the data port", DATA_LIMITS)):
        group.add_argument(f"--{prefix}max_connections", type=int, default=None,
                           help=f"connections {port} holds at once "
                                f"(default {limits.max_connections})")
        group.add_argument(f"--{prefix}max_connections_per_address", type=int, default=None,
                           help=f"connections one peer address may hold on {port} "
                                f"(default {limits.max_per_peer})")
        group.add_argument(f"--{prefix}head_timeout", type=float, default=None,
                           help=f"seconds a whole request head may take on {port} "
                                f"(default {limits.head_timeout:g})")
        group.add_argument(f"--{prefix}idle_timeout", type=float, default=None,
                           help=f"seconds a kept-alive connection may sit idle on {port} "
                                f"(default {limits.idle_timeout:g})")
    group.add_argument("--min_body_rate", type=float, default=None,
                       help=f"bytes a second a request body must arrive at, every port "
                            f"(default {REST_LIMITS.min_body_rate:g})")
    group.add_argument("--body_grace", type=float, default=None,
                       help=f"seconds a body may take on top of its size / --min_body_rate "
                            f"(default {REST_LIMITS.body_grace:g})")


def _limits_from(get: Any, prefix: str, default: PortLimits) -> PortLimits:
    """`default` with the limit flags given under `prefix` (and the shared body flags)."""
    def value(name: str, fallback: Any) -> Any:
        given = get(name)
        return fallback if given is None else given

    return PortLimits(
        max_connections=value(f"{prefix}max_connections", default.max_connections),
        max_per_peer=value(f"{prefix}max_connections_per_address", default.max_per_peer),
        head_timeout=value(f"{prefix}head_timeout", default.head_timeout),
        idle_timeout=value(f"{prefix}idle_timeout", default.idle_timeout),
        min_body_rate=value("min_body_rate", default.min_body_rate),
        body_grace=value("body_grace", default.body_grace))


def apply_resource_caps(cpus: int | None, gpus: int | None) -> dict[str, Any]:
    """Limit torch's CPU threads to `cpus` and expose only the first `gpus` GPUs.

    Call before anything initialises CUDA; returns what was applied.
    """
    applied: dict[str, Any] = {}
    if gpus is not None:
        if gpus < 0:
            raise ValueError("gpus cannot be negative")
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is not None and visible.strip():
            devices = [item.strip() for item in visible.split(",") if item.strip()][:gpus]
        else:
            devices = [str(index) for index in range(gpus)]
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
        applied["cuda_visible_devices"] = os.environ["CUDA_VISIBLE_DEVICES"]
    if cpus is not None:
        if cpus < 1:
            raise ValueError("cpus must be at least 1")
        threads = min(cpus, os.cpu_count() or cpus)
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(threads)
        applied["cpu_threads"] = threads
        try:
            import torch
        except ImportError:
            return applied
        torch.set_num_threads(threads)
        applied["torch_threads"] = torch.get_num_threads()
    return applied


def _role_directories(role: str) -> tuple[str, str]:
    try:
        return ROLE_DIRECTORIES[role]
    except KeyError:
        raise ValueError(f"unknown role {role!r}; expected one of {sorted(ROLE_DIRECTORIES)}"
                         ) from None
