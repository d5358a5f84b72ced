"""`/health` tells the truth: 503 naming an essential loop once it has ended."""

from __future__ import annotations

import threading

from synrest.app_factory import create_app
from synrest.liveness import app_liveness
from synrest.node_config import NodeConfig


def _app_and_stop() -> tuple[object, threading.Event]:
    app = create_app(NodeConfig(role="ttp", node_id="ttp_1", insecure=True), "Test", [], None)
    return app, threading.Event()


def test_health_is_503_naming_a_loop_that_raised() -> None:
    app, stop = _app_and_stop()
    liveness = app_liveness(app)
    client = app.test_client()
    assert client.get("/health").status_code == 200

    def loop(_stop: threading.Event) -> None:
        raise RuntimeError("broker refused us")

    liveness.start_essential("cluster-jobs", loop, stop).join(timeout=10)
    answer = client.get("/health")
    assert answer.status_code == 503
    assert "cluster-jobs" in answer.json["message"]
    assert answer.json["errors"] == {"cluster-jobs": "RuntimeError: broker refused us"}
    assert liveness.dead.is_set()


def test_a_loop_that_returns_early_is_dead_and_one_stopped_on_purpose_is_not() -> None:
    app, stop = _app_and_stop()
    liveness = app_liveness(app)
    liveness.start_essential("returns", lambda _stop: None, stop).join(timeout=10)
    assert liveness.failures == {"returns": "returned while the node was running"}

    other, other_stop = _app_and_stop()
    other_liveness = app_liveness(other)
    thread = other_liveness.start_essential("waits", lambda s: s.wait(), other_stop)
    other_stop.set()
    thread.join(timeout=10)
    assert not other_liveness.dead.is_set()
    assert other.test_client().get("/health").status_code == 200
