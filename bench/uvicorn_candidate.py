"""A synrest node app (health and an empty API) served by uvicorn + h11, for
`bench/hostile_connections.py` to compare with the command ports' cheroot.

Run: `python -m bench.uvicorn_candidate PORT`.
"""

from __future__ import annotations

import sys
import warnings

import uvicorn

from synrest.app_factory import create_app
from synrest.cli import NodeConfig


def main(argv: list[str]) -> int:
    warnings.simplefilter("ignore", DeprecationWarning)  # uvicorn's WSGI middleware
    app = create_app(NodeConfig(role="worker", node_id="candidate"), "candidate", [], None)
    uvicorn.run(app, host="127.0.0.1", port=int(argv[0]), interface="wsgi", http="h11",
                log_level="warning", limit_concurrency=5000, timeout_keep_alive=30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
