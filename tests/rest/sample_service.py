"""A small real service built with synrest, started as a subprocess by the synrest tests.

Run: `python -m tests.rest.sample_service --host 127.0.0.1 --port P [common flags]`.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter

from flask import Blueprint, Response, request
from flask_restx import Namespace, Resource, fields

from synrest import (
    NotFound,
    ValidationFailed,
    build_parser,
    create_app,
    json_object,
    serve,
    serve_many,
    success,
)
from synrest.binary_app import BinaryPortApp, BinaryRequest, BinaryResponse
from synrest.bootstrap import bootstrap_node
from synrest.node_config import ConfigError

ROLE = "worker"
logger = logging.getLogger("tests.sample_service")
items_ns = Namespace("sample", description="Items kept in memory")
typed_model = items_ns.model("Typed", {
    "count": fields.Integer(required=True, description="how many"),
})
_items: dict[str, dict] = {}
_attempts: Counter[str] = Counter()
_lock = threading.Lock()


@items_ns.route("/items")
class Items(Resource):
    """In-memory items collection."""

    def get(self) -> tuple[dict, int]:
        """List the items."""
        return success(200, "items.get", sorted(_items.values(), key=lambda item: item["name"]))

    def post(self) -> tuple[dict, int]:
        """Create (upsert) an item `{name: str, size: int >= 0}`."""
        body = json_object(allow_empty=False)
        errors = {}
        if not isinstance(body.get("name"), str) or not body.get("name"):
            errors["name"] = "required non-empty string"
        size = body.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            errors["size"] = "must be a non-negative integer"
        if errors:
            raise ValidationFailed(errors)
        item = {"name": body["name"], "size": size}
        _items[item["name"]] = item
        return success(201, "items.post", item)


@items_ns.route("/items/<item_id>")
class Item(Resource):
    """One in-memory item."""

    def get(self, item_id: str) -> tuple[dict, int]:
        """Read one item."""
        if item_id not in _items:
            raise NotFound(f"no item {item_id!r}")
        return success(200, "item.get", _items[item_id])


@items_ns.route("/typed")
class Typed(Resource):
    """A route validated by a restx model."""

    @items_ns.expect(typed_model, validate=True)
    def post(self) -> tuple[dict, int]:
        """Validated by the flask-restx model."""
        return success(200, "typed.post", items_ns.payload)


@items_ns.route("/boom")
class Boom(Resource):
    """A route that always fails unexpectedly."""

    def get(self) -> tuple[dict, int]:
        """Fail unexpectedly, with a detail that must stay in the logs."""
        raise RuntimeError("internal detail: database /var/lib/sample/db.json exploded")


@items_ns.route("/slow")
class Slow(Resource):
    """A route that takes a while (for graceful-shutdown checks)."""

    def get(self) -> tuple[dict, int]:
        """Sleep `seconds` (query) before answering."""
        seconds = float(request.args.get("seconds", "1"))
        time.sleep(seconds)
        return success(200, "slow.get", {"slept": seconds})


@items_ns.route("/careless")
class Careless(Resource):
    """A route that logs a secret header."""

    def get(self) -> tuple[dict, int]:
        """Log the Authorization header, as careless code might; it must come out masked."""
        logger.info("incoming auth header %s", request.headers.get("Authorization"),
                    extra={"auth_header": request.headers.get("Authorization")})
        return success(200, "careless.get", {"logged": True})


@items_ns.route("/flaky/<key>")
class Flaky(Resource):
    """A route that fails with 503 a given number of times."""

    def get(self, key: str) -> tuple[dict, int] | Response:
        """Answer 503 until called more than `failures` (query) times for `key`."""
        return _flaky(key)

    def post(self, key: str) -> tuple[dict, int] | Response:
        """Same as GET, for the no-retry-on-POST check."""
        return _flaky(key)


def _flaky(key: str) -> tuple[dict, int] | Response:
    failures = int(request.args.get("failures", "2"))
    with _lock:
        _attempts[key] += 1
        attempt = _attempts[key]
    if attempt <= failures:
        return Response('{"success": 0, "message": "try later"}', status=503,
                        mimetype="application/json")
    return success(200, "flaky.get", {"attempts": attempt})


@items_ns.route("/attempts/<key>")
class Attempts(Resource):
    """How often a flaky key was called."""

    def get(self, key: str) -> tuple[dict, int]:
        """How many times `/flaky/<key>` was called."""
        return success(200, "attempts.get", {"attempts": _attempts[key]})


binary_routes = Blueprint("data", __name__, url_prefix="/data")


@binary_routes.route("/reverse", methods=["POST"])
def reverse() -> Response:
    """Binary route of the Flask app: answer the request body reversed."""
    return Response(request.get_data()[::-1], mimetype="application/octet-stream")


def reverse_on_binary_port(request: BinaryRequest) -> BinaryResponse:
    """Binary port route: answer the body reversed (a `fail` body raises, for the 500 test)."""
    if bytes(request.body) == b"fail":
        raise RuntimeError("asked to fail")
    return BinaryResponse(200, bytes(request.body[::-1]))


def main(argv: list[str] | None = None) -> int:
    """Start the sample service and serve until SIGTERM."""
    parser = build_parser(ROLE, "synrest sample service")
    parser.add_argument("--binary_limit", type=int, default=1024 * 1024)
    parser.add_argument("--data_port", type=int, default=None)
    ns = parser.parse_args(argv)
    try:
        runtime = bootstrap_node(ns, ROLE)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(runtime.config, "Sample service", [(items_ns, "/sample")], runtime.token,
                     description="synrest test service", blueprints=[binary_routes])

    def on_shutdown() -> None:
        runtime.stop()
        print("on_shutdown ran", flush=True)

    if ns.data_port is None:
        serve(app, runtime.config, on_shutdown=on_shutdown)
        return 0
    port_app = BinaryPortApp(runtime.config, runtime.token, ns.binary_limit)
    port_app.add_route("/data/<name>/reverse", "data.reverse", reverse_on_binary_port)
    config = runtime.config
    serve_many([(app, config.host, config.port), (port_app, config.host, ns.data_port)],
               tls_cert=config.tls_cert, tls_key=config.tls_key, on_shutdown=on_shutdown,
               config=config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
