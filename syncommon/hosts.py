"""A host as it stands in a URL or a `Host` header: an IPv6 address goes in brackets."""

from __future__ import annotations


def url_host(host: str) -> str:
    """`host` ready to be followed by `:port` (`::1` -> `[::1]`; names, IPv4 and an already
    bracketed address unchanged)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
