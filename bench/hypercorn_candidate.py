"""A synrest node app (health and an empty API) served by hypercorn in its WSGI mode, the
alternative to uvicorn + a2wsgi that `bench/hostile_connections.py` measures beside the
nodes' REST ports. hypercorn is a benchmark-only package (not a node dependency).

Run: `python -m bench.hypercorn_candidate PORT`.
"""

from __future__ import annotations

import asyncio
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config

from synrest.app_factory import create_app
from synrest.node_config import NodeConfig


def main(argv: list[str]) -> int:
    app = create_app(NodeConfig(role="worker", node_id="candidate"), "candidate", [], None)
    config = Config()
    config.bind = [f"127.0.0.1:{argv[0]}"]
    config.backlog = 1024
    config.keep_alive_timeout = 5
    config.read_timeout = 10
    config.loglevel = "WARNING"
    asyncio.run(serve(app, config, mode="wsgi"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
