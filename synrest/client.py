"""`NodeClient`: the HTTP client one node uses to call another (keep-alive, timeouts, retries).

Idempotent calls (GET/PUT/DELETE/HEAD, or any call made with `idempotent=True`) are retried
by urllib3's `Retry` with exponential backoff on connection failures and 502/503/504; an
answer that timed out is not retried (the call's deadline holds) and POST is never retried
otherwise. Failures raise `NodeCallError` carrying the status and the envelope's message.
`abort` ends the calls in flight from another thread and refuses later ones (`call_abort`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from synrest.call_abort import CallAborter, track_calls

Timeout = float | tuple[float, float]
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})


class NodeCallError(Exception):
    """A failed call to another node; `status` is None when the node was unreachable."""

    def __init__(self, status: int | None, message: str, url: str,
                 errors: dict[str, str] | None = None) -> None:
        self.status = status
        self.message = message
        self.url = url
        self.errors = errors
        label = f"HTTP {status}" if status is not None else "unreachable"
        super().__init__(f"{label}: {message} [{url}]")


class _NodeRetry(Retry):
    """urllib3's `Retry` with the backoff starting at `backoff_factor` (not after a free first
    retry), a 10% jitter, and an answer that timed out raised at once rather than retried."""

    def get_backoff_time(self) -> float:
        """`backoff_factor * 2**(n-1)` after the n-th failed try, plus up to 10%."""
        tries = len(self.history)
        if not tries:
            return 0.0
        return self.backoff_factor * 2 ** (tries - 1) * (1 + random.random() * 0.1)

    def increment(self, *args: Any, **kwargs: Any) -> _NodeRetry:
        """The next state, except for a read timeout, which ends the call."""
        error = kwargs.get("error")
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(*args, **kwargs)


class NodeClient:
    """One keep-alive session to one peer node, with a bearer token and bounded retries."""

    def __init__(self, base_url: str, token: str | None = None,
                 timeout: Timeout = (3.05, 60), retries: int = 3, backoff: float = 0.2,
                 verify: bool | str = True, pool_size: int = 8) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff cannot be negative")
        self.base_url = base_url.rstrip("/")
        self.address = parts.netloc.rpartition("@")[2]
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        policy = _NodeRetry(total=retries, connect=retries, read=retries, status=retries,
                            other=0, redirect=0, allowed_methods=None,
                            status_forcelist=RETRY_STATUSES, backoff_factor=backoff,
                            raise_on_status=False, respect_retry_after_header=False)
        retrying = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=policy)
        single = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        single.poolmanager = retrying.poolmanager  # one set of keep-alive connections
        self._aborter = CallAborter()
        track_calls(retrying.poolmanager, self._aborter)
        self.session = self._session(retrying, verify, token)
        self._single_shot = self._session(single, verify, token)

    def __repr__(self) -> str:
        return f"NodeClient({self.base_url!r})"

    def get(self, path: str, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None, timeout: Timeout | None = None) -> dict:
        """GET `path` and return the parsed envelope."""
        return self.request("GET", path, params=params, headers=headers, timeout=timeout)

    def post(self, path: str, json: Any = None, data: bytes | None = None,
             headers: Mapping[str, str] | None = None, timeout: Timeout | None = None,
             idempotent: bool = False) -> dict:
        """POST `json` (or raw `data`) to `path`; retried only when `idempotent=True`."""
        return self.request("POST", path, json=json, data=data, headers=headers,
                            timeout=timeout, idempotent=idempotent)

    def put(self, path: str, json: Any = None, data: bytes | None = None,
            headers: Mapping[str, str] | None = None, timeout: Timeout | None = None) -> dict:
        """PUT `json` (or raw `data`) to `path` and return the parsed envelope."""
        return self.request("PUT", path, json=json, data=data, headers=headers, timeout=timeout)

    def delete(self, path: str, json: Any = None, headers: Mapping[str, str] | None = None,
               timeout: Timeout | None = None) -> dict:
        """DELETE `path` and return the parsed envelope."""
        return self.request("DELETE", path, json=json, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
                params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
                timeout: Timeout | None = None, idempotent: bool | None = None) -> dict:
        """Send one call and return the parsed JSON envelope (raises NodeCallError)."""
        response = self._send(method, path, json=json, data=data, params=params,
                              headers=headers, timeout=timeout, idempotent=idempotent)
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise NodeCallError(response.status_code, "the reply is not JSON",
                                response.url) from None
        return body if isinstance(body, dict) else {"data": body}

    def abort(self) -> None:
        """End every call in flight (each fails as if the peer had closed its connection)
        and refuse every later one; for a caller that stops while a peer does not answer."""
        self._aborter.abort()

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()
        self._single_shot.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _session(adapter: HTTPAdapter, verify: bool | str, token: str | None
                 ) -> requests.Session:
        session = requests.Session()
        session.verify = verify
        session.trust_env = False
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        return session

    def _send(self, method: str, path: str, *, idempotent: bool | None = None,
              timeout: Timeout | None = None, **kwargs: Any) -> requests.Response:
        method = method.upper()
        url = f"{self.base_url}/{path.lstrip('/')}"
        retryable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        session = self.session if retryable else self._single_shot
        try:
            response = session.request(method, url, timeout=timeout or self.timeout, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise NodeCallError(None, f"TLS failure talking to {self.address}: "
                                f"{_tls_reason(exc)}", url) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ConnectTimeout
                ) as exc:
            raise NodeCallError(None, f"{self.address} unreachable: {_short_reason(exc)}",
                                url) from None
        except requests.exceptions.Timeout:
            raise NodeCallError(None, f"{self.address} did not answer within "
                                f"{timeout or self.timeout}s", url) from None
        except requests.exceptions.RequestException as exc:
            raise NodeCallError(None, f"request to {self.address} failed: {exc}", url) from None
        if response.status_code >= 400:
            raise _call_error(response)
        return response


def _call_error(response: requests.Response) -> NodeCallError:
    message, errors = f"HTTP {response.status_code} {response.reason}", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or message)
        if isinstance(body.get("errors"), dict):
            errors = {str(key): str(value) for key, value in body["errors"].items()}
    elif response.text:
        message = f"{message}: {response.text[:200]}"
    return NodeCallError(response.status_code, message, response.url, errors)


def _tls_reason(exc: Exception) -> str:
    """The certificate problem inside requests' nested TLS error text, else its start."""
    text = str(exc)
    found = re.search(r"certificate verify failed: (.+?) \(_ssl", text)
    if found:
        return f"certificate verify failed: {found.group(1).strip()}"
    return text[:300]


def _short_reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "No route to host", "Connection reset", "Remote end closed"):
        if marker in text:
            return marker.lower()
    return text[:200]
