"""`Idempotency-Key` on the TTP's POSTs: a retried job start returns the job its first try started.

A client that timed out on a POST cannot tell whether the job started; it retries with the
same key. The first answer of a 2xx POST is kept (per method + path + token, for at least
`KEY_TTL` seconds) in a SQLite file beside the archive and replayed to every later request
with that key; a replay carries `Idempotent-Replayed: true`. A request that reuses a key with
another body is refused (422), and one that arrives while the first is still being answered
gets a 409. Tokens are never stored, only a hash of the scope.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

from flask import Flask, Response, g, request

from synrest.errors import ApiError, BadRequest, Conflict

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_TTL = 48 * 3600.0  # at least the promised 24 h
PENDING_TTL = 600.0  # a reservation older than this was left by a crashed request
MAX_KEY_LENGTH = 255
STORE_NAME = "idempotency.sqlite3"


class IdempotencyStore:
    """The answers of keyed POSTs, in one SQLite file (thread-safe, one process); the file
    is opened on first use, so building an app writes nothing."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def _db(self) -> sqlite3.Connection:
        """The open database (call with the lock held)."""
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(str(self.path), check_same_thread=False,
                                               isolation_level=None)
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS answers (scope TEXT, key TEXT, fingerprint TEXT, "
                "created REAL, status INTEGER, body TEXT, PRIMARY KEY (scope, key))")
        return self._connection

    def reserve(self, scope: str, key: str, fingerprint: str) -> tuple[int, str] | None:
        """None when this request may run (the key is now held), else the kept answer.

        Raises `Conflict` while another request holds the key, `ApiError(422)` when the key
        was used with another body.
        """
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM answers WHERE created < ?", (now - KEY_TTL,))
            row = self._db.execute(
                "SELECT fingerprint, created, status, body FROM answers WHERE scope = ? "
                "AND key = ?", (scope, key)).fetchone()
            if row is not None:
                kept_fingerprint, created, status, body = row
                if kept_fingerprint != fingerprint:
                    raise ApiError(422, f"{HEADER} {key!r} was used with another request "
                                        "body; use a fresh key for a new request")
                if status is not None:
                    return int(status), str(body)
                if now - created < PENDING_TTL:
                    raise Conflict(f"a request with {HEADER} {key!r} is still being answered")
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, NULL, NULL)",
                             (scope, key, fingerprint, now))
        return None

    def complete(self, scope: str, key: str, status: int, body: str) -> None:
        """Keep the answer of the request holding `key`."""
        with self._lock:
            self._db.execute("UPDATE answers SET status = ?, body = ? WHERE scope = ? AND "
                             "key = ?", (status, body, scope, key))

    def release(self, scope: str, key: str) -> None:
        """Drop the hold on `key` (the request failed: a retry may start the work)."""
        with self._lock:
            self._db.execute("DELETE FROM answers WHERE scope = ? AND key = ? AND status IS "
                             "NULL", (scope, key))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def install_idempotency(app: Flask, store: IdempotencyStore) -> None:
    """Honour `Idempotency-Key` on every POST of `app` (after the token check)."""

    @app.before_request
    def _replay_or_reserve() -> Response | None:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or request.routing_exception is not None:
            return None
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
            raise BadRequest(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII "
                             "characters", errors={HEADER: "malformed"})
        scope = _scope()
        kept = store.reserve(scope, key, hashlib.sha256(request.get_data()).hexdigest())
        if kept is not None:
            status, body = kept
            return Response(body, status, mimetype="application/json",
                            headers={REPLAYED_HEADER: "true"})
        g.idempotency_hold = (scope, key)
        return None

    @app.after_request
    def _keep_answer(response: Response) -> Response:
        hold = g.pop("idempotency_hold", None)
        if hold is not None:
            if 200 <= response.status_code < 300 and not response.is_streamed:
                scope, key = hold
                store.complete(scope, key, response.status_code, response.get_data(as_text=True))
            else:
                store.release(*hold)
        return response

    @app.teardown_request
    def _release_on_crash(_error: BaseException | None) -> None:
        hold = g.pop("idempotency_hold", None)
        if hold is not None:
            store.release(*hold)


def _scope() -> str:
    """A hash of what a key is unique within: the method, the path and the token."""
    token = request.headers.get("Authorization", "")
    path = request.path.rstrip("/") or "/"
    return hashlib.sha256(json.dumps([request.method, path, token]).encode()).hexdigest()
