"""`NodeConfig`: what the common flags configure for one REST node, validated."""

from __future__ import annotations

import argparse
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncommon.hosts import DEFAULT_COMMAND_PORT
from synlogger import DEFAULT_RESOLUTION, parse_logging_variant
from synrest.port_guard import DATA_LIMITS, REST_LIMITS, PortLimits

ROLE_DIRECTORIES = {
    "ttp": ("/orchestrator/data", "/orchestrator/outputs"),
    "director": ("/orchestrator/data", "/orchestrator/outputs"),
    "worker": ("/worker/data", "/worker/outputs"),
}
DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = DEFAULT_COMMAND_PORT
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
        data_default, outputs_default = role_directories(role)
        get: Callable[[str], Any] = vars(ns).get
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
            rest_limits=limits_from(get, "", REST_LIMITS),
            data_limits=limits_from(get, "data_", DATA_LIMITS),
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


def limits_from(get: Any, prefix: str, default: PortLimits) -> PortLimits:
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


def role_directories(role: str) -> tuple[str, str]:
    """The default data and outputs folders of a role (the images' volume paths)."""
    try:
        return ROLE_DIRECTORIES[role]
    except KeyError:
        raise ValueError(f"unknown role {role!r}; expected one of {sorted(ROLE_DIRECTORIES)}"
                         ) from None
