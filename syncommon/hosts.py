"""A host as it stands in a URL or a `Host` header (an IPv6 address goes in brackets), and the
port a node's REST API listens on unless told otherwise."""

from __future__ import annotations

DEFAULT_COMMAND_PORT = 5000


def url_host(host: str) -> str:
    """`host` ready to be followed by `:port` (`::1` -> `[::1]`; names, IPv4 and an already
    bracketed address unchanged)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
