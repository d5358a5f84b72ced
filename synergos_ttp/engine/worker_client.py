"""`WorkerClient`: every call the TTP makes to one Worker (docs/worker-protocol.md).

JSON calls go to the command port (`/worker/...`) through `synrest.client.NodeClient`; weight
exchanges go to the data port (`/data/<p>/<e>/<r>/...`) as `synalgo.codec` bodies, over the
keep-alive h11 connections of `data_connection` (they run every round). Every failure is
raised as `WorkerCallError` naming the participant, with `kind` `timeout` when the Worker did
not answer in time. A node registered `secure` is reached over HTTPS on both ports, its
certificate and hostname verified against the engine's `worker_ca` (default the system CAs).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from synalgo.codec import decode_views
from synalgo.errors import CodecError
from syncommon.backoff import Backoff
from syncommon.hosts import url_host
from synergos_ttp.engine.data_connection import DataPortPool, DataReply, FramingError
from synergos_ttp.engine.errors import WorkerCallError
from synergos_ttp.engine.grid import GridNode
from synergos_ttp.engine.settings import EngineSettings
from synergos_ttp.jobs import JobCancelled
from synrest.client import NodeCallError, NodeClient

POLL_BACKOFF_START = 0.05
POLL_BACKOFF_MAX = 1.0
STILL_RUNNING = 406
TERMINATE_TIMEOUT = 3.0  # a hung Worker must not hold a finished job
ERROR_BODY_BYTES = 64 * 1024
FoldCallback = Callable[[dict[str, Any], dict[str, Any], Any], None]
CheckCallback = Callable[[dict[str, Any], dict[str, Any]], Any]


def _base_url(host: str, port: int, secure: bool = False) -> str:
    return f"{'https' if secure else 'http'}://{url_host(host)}:{port}"


def worker_tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The client context for Workers: certificate and hostname verified against `ca_file`
    (None: the system CAs)."""
    return ssl.create_default_context(cafile=ca_file)


class WorkerClient:
    """Keep-alive clients to one Worker's command and data ports."""

    def __init__(self, node: GridNode, settings: EngineSettings) -> None:
        self.node = node
        self.participant_id = node.participant_id
        self.settings = settings
        timeout = (settings.connect_timeout, settings.call_timeout)
        ca_file = None if settings.worker_ca is None else str(settings.worker_ca)
        self.command = NodeClient(_base_url(node.host, node.command_port, node.secure),
                                  node.token, timeout=timeout, retries=2,
                                  verify=ca_file or True)
        self.data = DataPortPool(node.host, node.data_port, node.token,
                                 connect_timeout=settings.connect_timeout,
                                 tls=worker_tls_context(ca_file) if node.secure else None)

    def close(self) -> None:
        """Close both connection pools."""
        self.command.close()
        self.data.close()

    def abort_calls(self) -> None:
        """End this Worker's data-port calls in flight (the job is stopping); command-port
        calls end by their own timeouts (a stopped training still frees its run)."""
        self.data.abort()

    def abort_commands(self) -> None:
        """End this Worker's command-port calls in flight and refuse later ones (a stopped
        alignment makes none after)."""
        self.command.abort()

    # ----------------------------------------------------------------- command port
    def poll(self, project_id: str, action: str, deadline: float,
             stop: threading.Event | None = None) -> dict[str, Any]:
        """Start preprocessing of this node's tags and wait (until `deadline`, a monotonic
        time) for the per-meta summary; `JobCancelled` as soon as `stop` is set."""
        stop = stop or threading.Event()
        path = f"/worker/poll/{project_id}"
        self._json("POST", path, {"action": action, "tags": self.node.tags})
        delays = Backoff(initial=POLL_BACKOFF_START, maximum=POLL_BACKOFF_MAX)
        while not stop.is_set():
            try:
                return self._data_of(self.command.get(path, timeout=self._timeout(deadline)))
            except NodeCallError as error:
                if error.status != STILL_RUNNING:
                    raise self._failure("preprocessing failed", error) from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerCallError(self.participant_id, "preprocessing did not finish before "
                                      "the deadline", kind="timeout")
            stop.wait(min(delays.next_delay(), remaining))
        raise JobCancelled(f"stopped while worker {self.participant_id!r} preprocessed")

    def align(self, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send this Worker its alignment (superset, spacers, scaling)."""
        return self._json("POST", f"/worker/align/{project_id}", body)

    def initialise(self, project_id: str, expt_id: str, run_id: str,
                   body: dict[str, Any]) -> dict[str, Any]:
        """Load the run's tensors on the Worker; returns `{"metas": {...}, "n_classes": K}`."""
        return self._json("POST", f"/worker/initialise/{project_id}/{expt_id}/{run_id}", body)

    def terminate(self, project_id: str, expt_id: str, run_id: str) -> None:
        """Free the run's tensors on the Worker (waits at most `TERMINATE_TIMEOUT` s)."""
        self._json("POST", f"/worker/terminate/{project_id}/{expt_id}/{run_id}", None,
                   timeout=(self.settings.connect_timeout, TERMINATE_TIMEOUT))

    # ----------------------------------------------------------------- data port
    def fit(self, route: str, body: bytes, deadline: float, gate: threading.Lock,
            fold: FoldCallback, size_limit: int | None = None,
            check: CheckCallback | None = None) -> dict[str, Any]:
        """Local training: POST the global weights, read the whole reply by `deadline` (at
        most `size_limit` bytes, default the engine's payload limit), decode it and pass its
        tensors and header to `check`, all without holding `gate`, so a slow sender or a
        large reply delays nobody; then, holding `gate`, hand them with `check`'s result to
        `fold` (only the fold is serialised)."""
        tensors, header = self.exchange(f"{route}/fit", body, deadline, size_limit)
        checked = check(tensors, header) if check is not None else None
        if not gate.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            raise WorkerCallError(self.participant_id, "its reply came after the round "
                                  "deadline", kind="timeout")
        try:
            fold(tensors, header, checked)
            return header
        finally:
            gate.release()

    def exchange(self, path: str, body: bytes, deadline: float, size_limit: int | None = None
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
        """POST a codec body to a data-port `path` and read the whole codec reply by
        `deadline` (at most `size_limit` bytes, default the engine's payload limit):
        `(tensors, header)`, the tensors views into the reply."""
        reply = self._post_data(path, body, deadline)
        try:
            limit = min(size_limit or self.settings.max_payload_bytes,
                        self.settings.max_payload_bytes)
            try:
                buffer = reply.read_whole(deadline, limit)
            except TimeoutError as error:
                raise WorkerCallError(self.participant_id, f"reply cut off: {error}",
                                      kind="timeout") from None
            except FramingError as error:
                raise WorkerCallError(self.participant_id, f"reply refused: {_reason(error)}",
                                      kind="rejected") from None
            except OSError as error:
                raise WorkerCallError(self.participant_id,
                                      f"reply interrupted: {_reason(error)}") from None
        finally:
            reply.close()
        try:
            return decode_views(buffer)
        except CodecError as error:
            raise WorkerCallError(self.participant_id, f"sent a bad payload: {error}") from None

    def evaluate(self, route: str, body: bytes, deadline: float) -> dict[str, Any]:
        """Run the weights on the Worker's metas; returns `{meta: {loss, n_samples, ...}}`."""
        return self._json_reply(self._post_data(f"{route}/evaluate", body, deadline), deadline)

    def coalitions(self, route: str, body: bytes, deadline: float) -> dict[str, Any]:
        """The metric of many coalition models on the evaluate data: `{n_samples, values}`."""
        return self._json_reply(self._post_data(f"{route}/coalitions", body, deadline),
                                deadline)

    def predict(self, route: str, body: bytes, deadline: float) -> dict[str, Any]:
        """Inference on the Worker's predict data; returns statistics and the result path."""
        return self._json_reply(self._post_data(f"{route}/predict", body, deadline), deadline)

    # ----------------------------------------------------------------- internals
    def _json(self, method: str, path: str, body: Any,
              timeout: tuple[float, float] | None = None) -> dict[str, Any]:
        try:
            return self._data_of(self.command.request(method, path, json=body, timeout=timeout))
        except NodeCallError as error:
            raise self._failure(f"{method} {path} failed", error) from None

    def _post_data(self, route: str, body: bytes, deadline: float) -> DataReply:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WorkerCallError(self.participant_id, "no time left before the deadline",
                                  kind="timeout")
        try:
            reply = self.data.post(quote(f"/data/{route}"), body, timeout=remaining)
        except TimeoutError:
            raise WorkerCallError(self.participant_id, f"no answer within {remaining:.1f} s",
                                  kind="timeout") from None
        except FramingError as error:
            raise WorkerCallError(self.participant_id,
                                  f"sent a malformed reply: {_reason(error)}") from None
        except ssl.SSLError as error:
            raise WorkerCallError(self.participant_id, f"TLS failure talking to "
                                  f"{self.data.host}:{self.data.port}: {_tls_reason(error)}"
                                  ) from None
        except OSError as error:
            raise WorkerCallError(self.participant_id, f"unreachable: {_reason(error)}") from None
        if reply.status >= 400:
            try:
                message = _error_message(reply)
            finally:
                reply.close()
            raise WorkerCallError(self.participant_id, f"HTTP {reply.status}: {message}")
        return reply

    def _read(self, reply: DataReply, deadline: float) -> bytearray:
        try:
            return reply.read_whole(deadline, self.settings.max_payload_bytes)
        except (OSError, FramingError) as error:
            kind = "timeout" if isinstance(error, TimeoutError) else "failed"
            raise WorkerCallError(self.participant_id, f"reply interrupted: {_reason(error)}",
                                  kind=kind) from None

    def _json_reply(self, reply: DataReply, deadline: float) -> dict[str, Any]:
        try:
            body = json.loads(self._read(reply, deadline))
        except (ValueError, CodecError) as error:
            raise WorkerCallError(self.participant_id,
                                  f"unreadable reply: {_reason(error)}") from None
        finally:
            reply.close()
        return self._data_of(body if isinstance(body, dict) else {})

    def _data_of(self, envelope: dict[str, Any]) -> dict[str, Any]:
        data = envelope.get("data")
        return data if isinstance(data, dict) else {}

    def _timeout(self, deadline: float) -> tuple[float, float]:
        remaining = max(deadline - time.monotonic(), 0.5)
        return (min(self.settings.connect_timeout, remaining),
                min(self.settings.call_timeout, remaining))

    def _failure(self, what: str, error: NodeCallError) -> WorkerCallError:
        kind = "timeout" if error.status is None and "did not answer" in error.message \
            else "failed"
        status = f"HTTP {error.status}: " if error.status is not None else ""
        return WorkerCallError(self.participant_id, f"{what}: {status}{error.message}", kind)


def _error_message(reply: DataReply) -> str:
    try:
        text = reply.read(ERROR_BODY_BYTES).decode("utf-8", "replace")
    except (OSError, FramingError):
        return reply.reason or "error"
    try:
        body = json.loads(text)
    except ValueError:
        return (text or reply.reason or "")[:300]
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return reply.reason or "error"


def _tls_reason(error: ssl.SSLError) -> str:
    """What failed in a TLS handshake, naming the certificate problem when there is one."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {error.verify_message}"
    return str(error.reason or error)[:200]


def _reason(error: BaseException) -> str:
    text = str(error)
    for marker in ("Connection refused", "timed out", "Connection reset", "Remote end closed",
                   "Connection aborted"):
        if marker in text:
            return marker.lower()
    return text[:200] or type(error).__name__
