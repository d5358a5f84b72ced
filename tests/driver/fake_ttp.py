"""A tiny real HTTP server on 127.0.0.1 that records requests and answers canned envelopes.

By default it behaves like a TTP that finishes every job at once: train/evaluate POSTs answer
202 with a queued job record, `GET /ttp/jobs/<id>` answers the job `succeeded`, and every other
call answers a success envelope echoing the body. Tests script specific answers per route.
"""

from __future__ import annotations

import itertools
import json
import ssl
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

JOB_ROUTE_PREFIXES = ("/ttp/train/", "/ttp/evaluate/")


@dataclass
class RecordedRequest:
    """One request as the server saw it (raw path, decoded query, headers, JSON body)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    @property
    def call(self) -> tuple[str, str, Any]:
        """`(method, path, body)`, the shape most assertions compare."""
        return (self.method, self.path, self.body)


@dataclass
class CannedResponse:
    """An answer to send: JSON (`body` is a dict/list) or raw bytes with a content type."""

    status: int
    body: Any
    content_type: str = "application/json"
    delay: float = 0.0


def envelope(data: Any, status: int = 200, method: str = "fake.get") -> dict[str, Any]:
    """A success envelope as the TTP sends it."""
    return {"apiVersion": "0.1.0", "success": 1, "status": status, "method": method,
            "params": {}, "data": data}


def error_body(status: int, message: str, errors: dict[str, str] | None = None) -> dict:
    """An error envelope as the TTP sends it."""
    body: dict[str, Any] = {"success": 0, "status": status, "message": message}
    if errors is not None:
        body["errors"] = errors
    return body


def job_record(job_id: str, status: str, current: int = 0, total: int | None = None,
               kind: str = "training", error: str | None = None) -> dict[str, Any]:
    """A job record in the shape of `GET /ttp/jobs/<job_id>`."""
    return {"key": {"job_id": job_id}, "job_id": job_id, "kind": kind, "status": status,
            "progress": {"current": current, "total": total, "unit": "round", "message": ""},
            "params": {}, "error": error, "created_at": "2024-01-01 00:00:00",
            "started_at": None, "finished_at": None, "result": None}


@dataclass
class FakeTTP:
    """The recording server; use as a context manager or call `start()`/`stop()`."""

    tls_context: ssl.SSLContext | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    _scripts: dict[tuple[str, str], deque] = field(default_factory=lambda: defaultdict(deque))
    _job_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeTTP:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        if self.tls_context is not None:
            self._server.socket = self.tls_context.wrap_socket(
                self._server.socket, server_side=True
            )
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeTTP:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def script(self, method: str, path: str, *responses: CannedResponse) -> None:
        """Queue answers for `method path`; each is used once, then the default applies."""
        self._scripts[(method, path)].extend(responses)

    def calls(self) -> list[tuple[str, str, Any]]:
        """The `(method, path, body)` of every request so far."""
        return [recorded.call for recorded in self.requests]

    def answer(self, recorded: RecordedRequest) -> CannedResponse:
        """Pick the scripted answer for a request, else the default behaviour."""
        with self._lock:
            self.requests.append(recorded)
            queue = self._scripts.get((recorded.method, recorded.path))
            if queue:
                return queue.popleft()
            return self._default(recorded)

    def _default(self, recorded: RecordedRequest) -> CannedResponse:
        method, path = recorded.method, recorded.path
        if method == "POST" and path.startswith(JOB_ROUTE_PREFIXES):
            job_id = f"job-{next(self._job_ids)}"
            return CannedResponse(202, envelope(job_record(job_id, "queued"), 202, "job.post"))
        if method == "GET" and path.startswith("/ttp/jobs/"):
            job_id = path.rsplit("/", 1)[-1]
            return CannedResponse(200, envelope(job_record(job_id, "succeeded", 2, 2)))
        status = 201 if method == "POST" else 200
        return CannedResponse(status, envelope({"echo": recorded.body, "path": path}, status))


def _make_handler(fake: FakeTTP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = -1  # headers and body leave in one write (no delayed-ACK stalls)
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            recorded = RecordedRequest(
                method=self.command, path=split.path, query=parse_qs(split.query),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=json.loads(raw) if raw else None,
            )
            canned = fake.answer(recorded)
            if canned.delay:
                time.sleep(canned.delay)
            if isinstance(canned.body, bytes):
                payload = canned.body
            else:
                payload = json.dumps(canned.body).encode()
            self.send_response(canned.status)
            self.send_header("Content-Type", canned.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    return Handler
