"""`BinaryPortServer`: a `BinaryPortApp` (a Worker's data port) served by uvicorn + h11.

The port is a `synrest.rest_server.PortServer` with the data port's `PortLimits`, so its
heads pass the same rules and deadlines as every REST port's. `BinaryASGI` adapts the app:
a request's route, token and size are checked from its head before a byte of its body is
read (a refusal is answered at once and closes the connection); an admitted body is read
as it arrives into one buffer of its announced size (uvicorn holds at most 64 KiB of it
ahead of the reader); the handler then runs on a thread of the port's pool, and its answer
leaves in slices of `RESPONSE_SLICE` bytes, each sent when the peer has taken the previous
ones, so the port never holds a second copy of a model.
"""

from __future__ import annotations

import asyncio
import ssl
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from synrest.binary_app import Admission, BinaryPortApp, BinaryResponse
from synrest.port_guard import DATA_LIMITS, PortLimits, RefusalLog
from synrest.rest_server import CloseOnError, PortServer

RESPONSE_SLICE = 1024 * 1024
PREALLOCATED_BODY = 16 * 1024 * 1024  # a larger admitted body grows as it arrives


def server_tls_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or newer) for `cert` and `key`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


class BinaryASGI:
    """The ASGI face of a `BinaryPortApp`: admission from the head, the body streamed into
    one buffer, the handler on `executor`, the answer streamed out."""

    def __init__(self, app: BinaryPortApp, threads: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="data-port")
        self.refusals = RefusalLog()
        self.stopping = False  # answers say `Connection: close` once the port stops

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in scope["headers"]}
        target = scope["raw_path"].decode("latin-1")
        outcome = self.app.admit(scope["method"], target, headers)
        if isinstance(outcome, BinaryResponse):
            peer = scope["client"][0] if scope.get("client") else "?"
            self.refusals.refused(peer, f"a request was answered {outcome.status}")
            await self._answer(send, outcome)
            return
        if outcome.route is None:  # the health probe: cheap, answered on the loop
            await self._answer(send, self.app.call(outcome, b""))
            return
        body = await _read_body(receive, outcome)
        if body is None:  # the peer went away
            return
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self.executor, self.app.call, outcome, body)
        await self._answer(send, response)

    async def _answer(self, send: Any, response: BinaryResponse) -> None:
        headers = [(b"content-type", response.content_type.encode("latin-1")),
                   (b"content-length", b"%d" % len(response.body))]
        headers += [(name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in response.headers]
        if self.stopping:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": response.status,
                    "headers": headers})
        body = response.body
        if len(body) <= RESPONSE_SLICE:
            await send({"type": "http.response.body", "body": body})
            return
        with memoryview(body) as view:
            for start in range(0, len(body), RESPONSE_SLICE):
                end = start + RESPONSE_SLICE
                await send({"type": "http.response.body", "body": view[start:end],
                            "more_body": end < len(body)})


async def _read_body(receive: Any, admission: Admission) -> bytearray | None:
    """The admitted request's whole body, or None when the peer left before sending it."""
    length = admission.length
    preallocated = length <= PREALLOCATED_BODY
    body = bytearray(length) if preallocated else bytearray()
    filled = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        if preallocated:
            body[filled:filled + len(chunk)] = chunk
        else:
            body += chunk
        filled += len(chunk)
        if not message.get("more_body", False):
            return body if filled == length else None


class BinaryPortServer(PortServer):
    """Serve `app` on `host:port` within `limits` (default `DATA_LIMITS`); its handlers run
    on up to `limits.max_connections` threads, started as they are needed."""

    def __init__(self, app: BinaryPortApp, host: str, port: int,
                 tls_context: ssl.SSLContext | None = None,
                 limits: PortLimits | None = None,
                 shutdown_timeout: float = 30.0) -> None:
        limits = limits or DATA_LIMITS
        self.asgi = BinaryASGI(app, limits.max_connections)
        super().__init__(CloseOnError(self.asgi), host, int(port), tls_context,
                         shutdown_timeout, limits)

    def stop(self, wait: bool = True) -> None:
        """Stop accepting, let requests in flight finish (bounded), close the rest."""
        self.asgi.stopping = True
        super().stop(wait)
        if wait:
            self.asgi.executor.shutdown(wait=False)
