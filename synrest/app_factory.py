"""`create_app`: the flask-restx application every REST node is built on.

It wires the envelope error handlers, bearer auth (all routes but `/health` and the API docs),
`GET /health`, OpenAPI at `/swagger.json`, Swagger UI at `/docs`, trailing-slash tolerance and
request-body limits. Binary ports (a Worker's data port) are not Flask apps: see
`synrest.binary_app`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from flask import Blueprint, Flask, Response, current_app, g, request
from flask_restx import Namespace, Resource
from werkzeug.exceptions import RequestEntityTooLarge

from synrest.access_log import log_access
from synrest.auth import install_bearer_auth
from synrest.envelope import API_VERSION, success
from synrest.error_handlers import EnvelopeApi, register_error_handlers
from synrest.errors import ApiError
from synrest.liveness import app_liveness
from synrest.node_config import NodeConfig

BEARER_SCHEME = "bearer"
AUTHORIZATIONS = {
    BEARER_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Bearer token: send `Authorization: Bearer <token>`",
    }
}
EXTENSION_KEY = "synrest"


def create_app(config: NodeConfig, title: str, namespaces: Sequence[tuple[Namespace, str]],
               token: str | None, *, description: str = "",
               blueprints: Iterable[Blueprint] = ()) -> Flask:
    """Build the node's Flask app: `namespaces` are `(Namespace, url_prefix)` pairs, `token`
    the bearer token every route but health/docs requires (None: no auth)."""
    app = Flask(f"synergos_{config.role}", static_folder=None)
    app.url_map.strict_slashes = False
    app.config.update(
        ERROR_404_HELP=False,
        RESTX_ERROR_404_HELP=False,
        RESTX_MASK_SWAGGER=False,
        MAX_CONTENT_LENGTH=config.max_content_length,
        PROPAGATE_EXCEPTIONS=False,
        SWAGGER_UI_DOC_EXPANSION="list",
    )
    app.extensions[EXTENSION_KEY] = {"config": config, "auth": token is not None}
    app_liveness(app)
    register_error_handlers(app)
    install_bearer_auth(app, token)
    app.before_request(_enforce_body_limit)
    app.before_request(_start_timer)
    app.after_request(_log_access)

    api = EnvelopeApi(
        app, version=API_VERSION, title=title, description=description, doc="/docs",
        authorizations=AUTHORIZATIONS, security=BEARER_SCHEME if token is not None else None,
    )
    api.add_namespace(build_health_namespace(config), path="/health")
    for namespace, prefix in namespaces:
        api.add_namespace(namespace, path=prefix)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    app.extensions[EXTENSION_KEY]["api"] = api
    return app


def build_health_namespace(config: NodeConfig) -> Namespace:
    """`GET /health`: liveness without authentication; 503 naming the essential loops that
    ended (see `synrest.liveness`)."""
    namespace = Namespace("health", description="Liveness probe (no authentication)")

    @namespace.route("", endpoint="health")
    class Health(Resource):
        @namespace.doc(security=[])
        def get(self) -> tuple[dict, int]:
            """Report that the node is up, with its id and role (503 once a loop died)."""
            failures = app_liveness(current_app).failures
            if failures:
                raise ApiError(503, f"node {config.node_id} is not alive: "
                               f"{', '.join(sorted(failures))} ended", errors=failures)
            return success(200, "health.get", config.health())

    return namespace


def _enforce_body_limit() -> None:
    effective = request.max_content_length
    if effective is not None and (request.content_length or 0) > effective:
        raise RequestEntityTooLarge()


def _start_timer() -> None:
    g.synrest_started = time.perf_counter()


def _log_access(response: Response) -> Response:
    log_access(request.method, request.path, response.status_code, g.get("synrest_started"))
    return response
