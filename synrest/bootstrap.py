"""`bootstrap_node`: the start-up sequence every service shares, in this order:

parse flags -> validate -> apply CPU/GPU caps -> resolve the bearer token -> configure logging
(the token registered as a secret) -> log the config snapshot -> start the sysmetrics thread.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from synlogger import SysmetricsReporter, configure_node_logging, register_identifier
from synrest.auth import resolve_token
from synrest.node_config import ConfigError, NodeConfig
from synrest.resource_caps import apply_resource_caps
from synrest.shutdown import EXIT_GUARD

Config = TypeVar("Config")


@dataclass
class NodeRuntime:
    """What a started node holds on to: its config, logger, token and sysmetrics thread."""

    config: NodeConfig
    logger: logging.Logger
    token: str | None
    sysmetrics: SysmetricsReporter

    def stop(self) -> None:
        """Stop the background threads started by `bootstrap_node`."""
        self.sysmetrics.stop()


def bootstrap_node(ns: argparse.Namespace, role: str) -> NodeRuntime:
    """Turn parsed flags into a running node context; raises ConfigError on bad flags."""
    config = NodeConfig.from_args(ns, role)
    caps = apply_resource_caps(config.cpus, config.gpus)
    token = resolve_token(config)
    logger = configure_node_logging(
        config.node_id, role, config.logging_variant, debug=config.debug,
        censored=config.censored, secrets=[token] if token else (),
    )
    register_identifier(config.host)
    logger.info("node starting", extra={**config.log_fields(), **caps,
                                        "auth": "bearer" if token else "off"})
    if token is None:
        logger.warning("authentication is off (--insecure): anyone who can reach this node "
                       "can use it")
    sysmetrics = SysmetricsReporter(logging.getLogger(f"synergos.{role}.sysmetrics"),
                                    config.logging_resolution).start()
    return NodeRuntime(config, logger, token, sysmetrics)


def run_node(parser: argparse.ArgumentParser, role: str, argv: Sequence[str] | None,
             make_config: Callable[[argparse.Namespace, NodeConfig], Config],
             serve: Callable[[Config, NodeRuntime], int]) -> int:
    """A service's whole `main`: parse `argv`, bootstrap, build the service's own config
    (`make_config(ns, node_config)`; a ConfigError becomes the parser's usage error), then
    `serve(config, runtime)` until it returns, always stopping the runtime; threads still
    running then do not keep the process alive (`synrest.shutdown.ExitGuard.finish`)."""
    ns = parser.parse_args(argv)
    try:
        runtime = bootstrap_node(ns, role)
        config = make_config(ns, runtime.config)
    except ConfigError as error:
        parser.error(str(error))
    try:
        code = serve(config, runtime)
    finally:
        runtime.stop()
    return EXIT_GUARD.finish(code)
