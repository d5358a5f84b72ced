"""Bearer-token authentication: where the token comes from, and the request check.

Order: `--token`, then env `SYNERGOS_TOKEN`, then `<data_dir>/.synergos_token`; when none
exists a token is generated, stored with mode 0600 and printed once to stdout (never logged).
`--insecure` turns authentication off. Every token is registered as a logger secret.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
import stat
import sys
from pathlib import Path

from flask import Flask, request

from synlogger import register_secret
from synrest.errors import Unauthorized
from synrest.node_config import ConfigError, NodeConfig

TOKEN_ENV = "SYNERGOS_TOKEN"
TOKEN_FILENAME = ".synergos_token"
MIN_TOKEN_LENGTH = 16
PUBLIC_ENDPOINTS = frozenset({"health", "specs", "doc", "root", "restx_doc.static"})

_TOKEN_SHAPE = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces
logger = logging.getLogger(__name__)


def validate_token(token: str, source: str) -> str:
    """Return `token` if it is usable as a bearer token; raise ConfigError naming `source`."""
    if not _TOKEN_SHAPE.match(token or ""):
        raise ConfigError(f"the token from {source} must be printable ASCII without spaces")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"the token from {source} is shorter than {MIN_TOKEN_LENGTH} characters")
    return token


def resolve_token(config: NodeConfig) -> str | None:
    """Return the bearer token this node requires, or None when `--insecure`."""
    if config.insecure:
        if os.environ.get(TOKEN_ENV):
            logger.warning("--insecure given: ignoring %s, authentication is off", TOKEN_ENV)
        return None
    if config.token:
        token = validate_token(config.token, "--token")
    elif os.environ.get(TOKEN_ENV):
        token = validate_token(os.environ[TOKEN_ENV].strip(), f"env {TOKEN_ENV}")
    else:
        token = load_or_create_token(config.data_dir, config.role)
    register_secret(token)
    return token


def load_or_create_token(data_dir: Path, role: str = "node") -> str:
    """Read `<data_dir>/.synergos_token`, or create it (0600) and print the new token once."""
    path = Path(data_dir) / TOKEN_FILENAME
    try:
        return _read_token_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return _read_token_file(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    register_secret(token)
    sys.stdout.write(
        f"Generated the access token of this Synergos {role} (stored in {path}; shown only "
        f"once):\n{token}\n")
    sys.stdout.flush()
    return token


def _read_token_file(path: Path) -> str:
    token = path.read_text(encoding="ascii", errors="replace").strip()
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
        logger.warning("token file permissions were too open; reset to 0600")
    return validate_token(token, str(path))


def check_bearer(expected: str, authorization: str | None) -> None:
    """Raise Unauthorized unless `authorization` is `Bearer <expected>` (constant-time)."""
    if not authorization:
        raise Unauthorized("missing bearer token (send 'Authorization: Bearer <token>')")
    scheme, _, provided = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not provided.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    if not hmac.compare_digest(provided.strip().encode("utf-8"), expected.encode("utf-8")):
        raise Unauthorized("invalid bearer token")


def install_bearer_auth(app: Flask, token: str | None) -> None:
    """Require the bearer token on every route of `app` except health and the API docs.

    Requests that match no route (404/405) are answered without asking for a token.
    """
    if token is None:
        return

    @app.before_request
    def _require_bearer_token() -> None:
        if request.routing_exception is not None or request.endpoint in PUBLIC_ENDPOINTS:
            return
        check_bearer(token, request.headers.get("Authorization"))
