"""Ending a `NodeClient`'s calls in flight from another thread (a job that stops must not
wait for a peer that never answers).

urllib3 hands a pool's connection to one call between `_get_conn` and `_put_conn`; the pools
made here record those connections in a `CallAborter`, whose `abort` shuts their sockets down
(a read blocked on one returns at once, as if the peer had closed it) and refuses every later
call of the client.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from typing import Any

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.exceptions import ClosedPoolError


class CallAborter:
    """The connections of one client's calls in flight; `abort` ends them and refuses more."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: weakref.WeakSet[Any] = weakref.WeakSet()  # a failed call never gives back
        self._aborted = False

    @property
    def aborted(self) -> bool:
        """Whether `abort` was called."""
        return self._aborted

    def taken(self, pool: HTTPConnectionPool, connection: Any) -> Any:
        """A call took `connection`; raises `ClosedPoolError` once aborted."""
        with self._lock:
            if self._aborted:
                connection.close()
                raise ClosedPoolError(pool, "the client's calls were aborted")
            self._busy.add(connection)
        return connection

    def given_back(self, connection: Any) -> None:
        """The call holding `connection` ended."""
        with self._lock:
            self._busy.discard(connection)

    def abort(self) -> None:
        """Shut down the socket of every call in flight and refuse every later call."""
        with self._lock:
            self._aborted = True
            busy = list(self._busy)
        for connection in busy:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                # the plain socket's shutdown: a TLS socket's would drop its state mid-read
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _TrackedPool(HTTPConnectionPool):
    """A urllib3 pool (plain, or TLS when mixed before `HTTPSConnectionPool`) that records
    each connection a call takes and gives back."""

    aborter: CallAborter

    def _get_conn(self, timeout: float | None = None) -> Any:
        return self.aborter.taken(self, super()._get_conn(timeout))

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            self.aborter.given_back(conn)
        super()._put_conn(conn)


def track_calls(manager: PoolManager, aborter: CallAborter) -> None:
    """Make the pools `manager` creates record their calls in `aborter`."""
    manager.pool_classes_by_scheme = {
        "http": type("TrackedHTTPPool", (_TrackedPool,), {"aborter": aborter}),
        "https": type("TrackedHTTPSPool", (_TrackedPool, HTTPSConnectionPool),
                      {"aborter": aborter}),
    }
