"""What every Synergos REST node shares: app factory, envelope, errors, auth, CLI, server, client.

See `docs/architecture.md` (synrest) for the contracts; submodules can be imported directly.
"""

from __future__ import annotations

from synrest.app_factory import create_app
from synrest.auth import resolve_token
from synrest.binary_app import BinaryPortApp, BinaryRequest, BinaryResponse
from synrest.client import NodeCallError, NodeClient
from synrest.envelope import API_VERSION, failure, success
from synrest.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from synrest.flags import build_parser
from synrest.node_config import ConfigError, NodeConfig
from synrest.payload import json_object
from synrest.resource_caps import apply_resource_caps
from synrest.server import NodeServer, serve, serve_many

__all__ = [
    "API_VERSION",
    "ApiError",
    "BadRequest",
    "BinaryPortApp",
    "BinaryRequest",
    "BinaryResponse",
    "ConfigError",
    "Conflict",
    "NodeCallError",
    "NodeClient",
    "NodeConfig",
    "NodeServer",
    "NotFound",
    "Unauthorized",
    "ValidationFailed",
    "apply_resource_caps",
    "build_parser",
    "create_app",
    "failure",
    "json_object",
    "resolve_token",
    "serve",
    "serve_many",
    "success",
]
