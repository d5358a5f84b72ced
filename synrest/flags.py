"""Command-line flags every REST node shares (`build_parser`).

Each service extends the parser returned by `build_parser` with its own flags (the Worker's
`--data_port`, the TTP's `--grid`/`--queue`/`--mlflow_uri`) before parsing; parsing also
builds a `NodeConfig`, so unusable values fail as argparse errors naming the flag.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from synlogger import DEFAULT_RESOLUTION, parse_logging_variant
from synrest.node_config import (
    DEFAULT_HOST,
    DEFAULT_MAX_CONTENT_LENGTH,
    DEFAULT_PORT,
    ConfigError,
    NodeConfig,
    role_directories,
)
from synrest.port_guard import DATA_LIMITS, REST_LIMITS


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
    """An ArgumentParser that fills `--id` and rejects unusable flag combinations: parsing
    runs `config_check(ns)` (by default the `NodeConfig`'s checks; a service sets its own
    config's), and a ConfigError becomes a usage error (exit 2)."""

    def __init__(self, role: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.role = role
        self.config_check: Callable[[argparse.Namespace], object] = (
            lambda ns: NodeConfig.from_args(ns, role))

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        ns, rest = super().parse_known_args(args, namespace)
        if getattr(ns, "id", None) is None:
            ns.id = f"{self.role}/{uuid.uuid4()}"
        try:
            self.config_check(ns)
        except ConfigError as exc:
            self.error(str(exc))
        return ns, rest


def build_parser(role: str, description: str) -> NodeArgumentParser:
    """Return a parser with the flags every node shares; add role-specific flags to it."""
    data_default, outputs_default = role_directories(role)
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
