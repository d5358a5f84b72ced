"""HTTP transport of the Driver: one keep-alive session, auth header, timeouts, error mapping."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from syncommon.hosts import url_host
from synergos.errors import (
    AuthenticationError,
    InvalidResponseError,
    ResponseTimeoutError,
    SynergosError,
    UnreachableError,
    error_class_for_status,
)

Envelope = dict[str, Any]
Timeout = float | tuple[float, float] | None

DEFAULT_TIMEOUT: float = 60.0
USER_AGENT = "synergos-driver"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Connection errors are retried for every call (nothing reached the node); a POST is also
# retried when its answer was lost (dropped connection, read timeout): it carries an
# Idempotency-Key, so the node answers a retry with the first try's result.
RETRIES = Retry(total=3, connect=3, read=1, status=0, other=0, redirect=0,
                allowed_methods=frozenset({"POST"}), backoff_factor=0.2, raise_on_status=False)
_REASON_PATTERNS = (
    re.compile(r"\[SSL[^\]]*\][^'\"()]*"),  # [SSL: CERTIFICATE_VERIFY_FAILED] certificate ...
    re.compile(r"\[Errno -?\d+\][^'\")\]]*"),  # [Errno 111] Connection refused
)


def build_base_url(host: str, port: int | str, secure: bool = False) -> str:
    """Return `http(s)://host:port` after checking host and port; IPv6 hosts get brackets."""
    if not isinstance(host, str) or not host.strip():
        raise ValueError(f"host must be a non-empty string, got {host!r}")
    host = host.strip()
    if "://" in host or "/" in host:
        raise ValueError(f"host must be a bare host name or address (no scheme/path), got {host!r}")
    try:
        port_number = int(port)
    except (TypeError, ValueError):
        raise ValueError(f"port must be an integer in 1..65535, got {port!r}") from None
    if isinstance(port, bool) or not 1 <= port_number <= 65535:
        raise ValueError(f"port must be an integer in 1..65535, got {port!r}")
    return f"{'https' if secure else 'http'}://{url_host(host)}:{port_number}"


class Transport:
    """Sends JSON calls to one Synergos node and returns parsed envelopes.

    Holds a single keep-alive `requests.Session`; adds `Authorization: Bearer <token>` when a
    token is set (the token is never shown in reprs, messages or logs). Non-2xx answers raise
    the matching `SynergosError` subclass.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        verify: bool | str = True,
        timeout: Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.address = urlsplit(self.base_url).netloc
        self.timeout = timeout
        self._has_token = bool(token)
        self.verify = verify
        self._session = requests.Session()
        adapter = HTTPAdapter(max_retries=RETRIES)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    @property
    def read_timeout(self) -> float | None:
        """Seconds each answer may take (None: no limit)."""
        return self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout

    def __repr__(self) -> str:
        return f"<Transport {self.base_url} token={'set' if self._has_token else 'none'}>"

    def close(self) -> None:
        """Close the keep-alive connections."""
        self._session.close()

    def get(self, path: str, query: dict[str, Any] | None = None) -> Envelope:
        """GET `path` (relative to the base URL) and return the parsed envelope."""
        return self.request("GET", path, query=query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Envelope:
        """POST a JSON `body` to `path` and return the parsed envelope."""
        return self.request("POST", path, body=body if body is not None else {})

    def put(self, path: str, body: dict[str, Any]) -> Envelope:
        """PUT a JSON `body` to `path` and return the parsed envelope."""
        return self.request("PUT", path, body=body)

    def delete(self, path: str) -> Envelope:
        """DELETE `path` and return the parsed envelope (the deleted record)."""
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Envelope:
        """Send one call; return the envelope or raise a `SynergosError` subclass.

        A POST carries a fresh `Idempotency-Key`, which its retries repeat."""
        url = self.base_url + path
        headers = {IDEMPOTENCY_HEADER: uuid.uuid4().hex} if method == "POST" else None
        try:
            response = self._session.request(
                method, url, json=body, params=query, timeout=self.timeout, verify=self.verify,
                headers=headers,
            )
        except requests.exceptions.SSLError as exc:
            raise UnreachableError(
                f"TLS connection to {self.address} failed ({_short_reason(exc)}); check the "
                f"server certificate or pass verify=<CA bundle path>", url=url
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise UnreachableError(
                f"could not reach Synergos at {self.address}: no connection within "
                f"{self._connect_timeout()} s", url=url
            ) from None
        except requests.exceptions.ReadTimeout:
            raise ResponseTimeoutError(
                f"{method} {url} got no answer from {self.address} within "
                f"{self.read_timeout} s (raise Driver(timeout=...) for slow calls)", url=url
            ) from None
        except requests.exceptions.ConnectionError as exc:
            if _timed_out(exc):  # a POST whose retry timed out too
                raise ResponseTimeoutError(
                    f"{method} {url} got no answer from {self.address} within "
                    f"{self.read_timeout} s, twice (raise Driver(timeout=...) for slow calls)",
                    url=url) from None
            raise UnreachableError(
                f"could not reach Synergos at {self.address} ({_short_reason(exc)}); is the "
                f"service running and is the host/port right?", url=url
            ) from None
        except requests.exceptions.RequestException as exc:
            raise SynergosError(f"{method} {url} failed: {_short_reason(exc)}", url=url) from None
        return self._parse(method, url, response)

    def _parse(self, method: str, url: str, response: requests.Response) -> Envelope:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            content_type = response.headers.get("Content-Type") or "no content type"
            snippet = response.text[:200].strip()
            message = (
                f"{method} {url} answered HTTP {status} with a body that is not a JSON object "
                f"({content_type}): {snippet!r}"
            )
            cls = InvalidResponseError if response.ok else error_class_for_status(status)
            raise cls(message, status=status, url=url)
        if not response.ok or body.get("success") == 0:
            raise self._error_from_envelope(status, url, body, response.reason)
        if "data" not in body:
            raise InvalidResponseError(
                f"{method} {url} answered HTTP {status} with JSON that is not a Synergos "
                f"envelope (no 'data' field); is {self.address} a Synergos node?",
                status=status, url=url, body=body,
            )
        return body

    def _error_from_envelope(
        self, status: int, url: str, body: dict[str, Any], reason: str | None
    ) -> SynergosError:
        if status < 400:  # success 0 in a 2xx answer: trust the envelope's own status
            declared = body.get("status")
            status = declared if isinstance(declared, int) else status
        message = str(body.get("message") or reason or "request failed")
        raw_errors = body.get("errors")
        if isinstance(raw_errors, dict):
            errors = raw_errors
        elif raw_errors:
            errors = {"detail": raw_errors}
        else:
            errors = None
        cls = error_class_for_status(status) if status >= 400 else SynergosError
        if cls is AuthenticationError and status == 401 and not self._has_token:
            message += " (no token was sent: pass Driver(token=...) or set SYNERGOS_TOKEN)"
        return cls(message, status=status, errors=errors, url=url, body=body)

    def _connect_timeout(self) -> Any:
        return self.timeout[0] if isinstance(self.timeout, tuple) else self.timeout


def _timed_out(exc: requests.exceptions.ConnectionError) -> bool:
    """Whether `exc` is the end of retries whose last try timed out reading the answer."""
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, ReadTimeoutError)


def _short_reason(exc: BaseException) -> str:
    """Pull the useful part (e.g. `[Errno 111] Connection refused`) out of a requests error."""
    text = str(exc)
    for pattern in _REASON_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(0).strip()
    return text if len(text) <= 200 else text[:200] + "..."
