"""Text and field scrubbing: secrets are always masked, network identifiers and paths on request.

`Censor.text` rewrites free text; `Censor.field` rewrites one structured field (by key and value).
Secrets (tokens) live in a process-wide `SecretRegistry` so they can be added at any time.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Iterable
from typing import Any

CENSORED = "*CENSORED*"
SECRET_MASK = "***"
MIN_SECRET_LENGTH = 6

# Keys whose values are secrets in every mode, and keys whose values are network/filesystem
# identifiers in censored mode. Matched against each `_`-separated part of a field name.
_SECRET_KEY = re.compile(
    r"(?i)(^|_)(token|tokens|secret|secrets|password|passwd|authorization|api_?key|credentials?)($|_)"
)
_IDENTIFIER_KEY = re.compile(
    r"(?i)(^|_)(hosts?|hostnames?|ips?|addr|address(es)?|ports?|urls?|uris?|endpoints?|paths?|"
    r"dirs?|directory|directories|files?|filenames?|folders?|roots?|sockets?|peers?|remotes?|"
    r"template)($|_)"
)

_SECRET_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{4,}"),
    re.compile(
        r"(?i)\b(token|access_token|api_?key|password|passwd|secret)"
        r"(\s*[=:]\s*|\"\s*:\s*\"|'\s*:\s*')([^\s\"'&,;]+)"
    ),
)

_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_NETWORK_PATTERN = re.compile(
    "|".join(
        [
            # scheme://netloc/path — the whole URL goes, only the scheme stays
            r"(?P<url>\b(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://[^\s\"'<>]*)",
            # [IPv6]:port
            r"(?P<ip6b>\[[0-9A-Fa-f:.]+(?:%\w+)?\](?::\d{1,5})?)",
            # IPv4 with optional :port
            r"(?P<ip4>(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?!\w))",
            # hostname:port (the host part must contain a letter and not be an ISO date)
            rf"(?P<hostport>(?<![\w.-])(?!\d{{4}}-\d\d-\d\dT)(?=[\w.-]*[A-Za-z]){_HOST_LABEL}(?:\.{_HOST_LABEL})*"
            r":\d{1,5}(?![\d.]))",
            # bare IPv6 candidate, validated with ipaddress before it is replaced
            r"(?P<ip6>(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
            r"(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?:%\w+)?(?![\w:]))",
            # Windows drive paths
            r"(?P<winpath>(?<!\w)[A-Za-z]:\\[^\s\"'<>|]*)",
            # POSIX absolute and home-relative paths
            r"(?P<path>(?<![\w.:/~*-])~?/[\w.@+%=-][^\s\"'<>,;()\[\]{}]*)",
            # "port 5000", "port=5000"
            r"(?P<portword>(?i:(?<![A-Za-z0-9])ports?\b)[\s:=]+\d{1,5}\b)",
        ]
    )
)


class SecretRegistry:
    """A thread-safe set of secret strings that must never appear in a log event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        """Register `value`; it is replaced by `***` wherever it appears from now on."""
        if not isinstance(value, str):
            raise TypeError("a secret must be a string")
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"a secret must be at least {MIN_SECRET_LENGTH} characters to be masked safely"
            )
        with self._lock:
            if value in self._values:
                return
            self._values.add(value)
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(item) for item in ordered))

    def clear(self) -> None:
        """Forget every registered secret (for tests and reconfiguration)."""
        with self._lock:
            self._values.clear()
            self._pattern = None

    def mask(self, text: str) -> str:
        """Return `text` with every registered secret replaced by `***`."""
        pattern = self._pattern
        return pattern.sub(SECRET_MASK, text) if pattern is not None else text


class Censor:
    """Scrubs log text and fields: secrets always; hosts, IPs, ports and paths when `censored`."""

    def __init__(self, secrets: SecretRegistry, censored: bool = False,
                 identifiers: Iterable[str] = ()) -> None:
        self.secrets = secrets
        self.censored = censored
        self._identifiers: set[str] = set()
        self._identifier_pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        if censored:
            for name in _local_host_names():
                self.add_identifier(name)
        for value in identifiers:
            self.add_identifier(value)

    def add_identifier(self, value: str) -> None:
        """Register a literal host name (or other identifier) removed in censored mode."""
        value = (value or "").strip()
        if len(value) < 3 or value in {"0.0.0.0", "::"}:
            return
        with self._lock:
            self._identifiers.add(value)
            ordered = sorted(self._identifiers, key=len, reverse=True)
            self._identifier_pattern = re.compile(
                r"(?<![\w.-])(?:" + "|".join(re.escape(item) for item in ordered) + r")(?![\w-])"
            )

    def text(self, text: str) -> str:
        """Scrub one piece of free text."""
        text = self.secrets.mask(text)
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(_mask_secret_match, text)
        if not self.censored:
            return text
        text = _NETWORK_PATTERN.sub(_censor_network_match, text)
        if self._identifier_pattern is not None:
            text = self._identifier_pattern.sub(CENSORED, text)
        return text

    def field(self, key: str, value: Any) -> Any:
        """Scrub one structured field: by its key first, then recursively by its content."""
        if _SECRET_KEY.search(key) and value not in (None, ""):
            return SECRET_MASK
        if self.censored and _IDENTIFIER_KEY.search(key) and value not in (None, ""):
            return CENSORED
        return self.value(value)

    def value(self, value: Any) -> Any:
        """Scrub a value of any JSON-like shape (strings, lists, dicts)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {str(k): self.field(str(k), v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.value(item) for item in value]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.text(str(value))


def _mask_secret_match(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{SECRET_MASK}"


def _censor_network_match(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "url":
        return f"{match.group('scheme')}://{CENSORED}"
    if kind == "ip6":
        candidate = match.group(0).split("%", 1)[0]
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            return match.group(0)
        return CENSORED
    if kind == "path" and match.group(0).endswith(".py"):  # keep source file names readable
        return f"{CENSORED}/{match.group(0).rsplit('/', 1)[-1]}"
    if kind == "portword":
        word = re.match(r"(?i)ports?", match.group(0))
        return f"{word.group(0) if word else 'port'}={CENSORED}"
    return CENSORED


def _local_host_names() -> list[str]:
    names: list[str] = []
    for getter in (socket.gethostname, socket.getfqdn):
        try:
            name = getter()
        except OSError:
            continue
        if name and name not in {"localhost", "localhost.localdomain"}:
            names.append(name)
    return names + ["localhost"]
