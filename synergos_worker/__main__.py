"""`python -m synergos_worker` / `synergos-worker`: start a Worker node.

parse flags -> bootstrap (caps, token, logging, sysmetrics) -> create the outputs folder ->
build the command and data apps -> serve both ports (once serving, torch warms up in the
background) until SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from synalgo.warmup import start_torch_warm_up
from synergos_worker import ROLE
from synergos_worker.app import create_worker_apps
from synergos_worker.config import WorkerConfig, build_worker_parser
from synergos_worker.services import WorkerServices
from synrest.bootstrap import NodeRuntime, run_node
from synrest.flags import NodeArgumentParser
from synrest.server import serve_many


def build_parser() -> NodeArgumentParser:
    """The full argument parser of this program (deployment files are checked against it)."""
    return build_worker_parser()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Worker until it is told to stop; returns the process exit code."""
    return run_node(build_worker_parser(), ROLE, argv,
                    lambda ns, node: WorkerConfig.from_args(ns, node=node), _serve)


def _serve(config: WorkerConfig, runtime: NodeRuntime) -> int:
    logger = runtime.logger
    node = config.node
    logger.info("worker settings", extra=config.log_fields())
    try:
        node.outputs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        logger.error("cannot create the outputs folder: %s", error)
        return 1
    if not node.data_dir.is_dir():
        logger.warning("the data folder does not exist yet; polls will find no datasets",
                       extra={"data_dir": str(node.data_dir)})
    services = WorkerServices.create(node.data_dir, node.outputs_dir)
    command_app, data_app = create_worker_apps(config, services, runtime.token)
    serve_many([(command_app, node.host, node.port), (data_app, node.host, config.data_port)],
               tls_cert=node.tls_cert, tls_key=node.tls_key, on_started=start_torch_warm_up,
               config=node)
    logging.getLogger(f"synergos.{ROLE}").info("worker stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
