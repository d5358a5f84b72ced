"""`python -m syncommon.healthcheck [PORT]`: exit 0 when the node in this container answers 200 on
`GET /health` at 127.0.0.1:PORT (default the nodes' command port), over plain HTTP or, when
the port serves TLS, HTTPS; exit 1 otherwise (503: an essential loop has ended). The images'
HEALTHCHECK and docker-compose.yml's run it; on the standard library only, so a check costs
a few milliseconds of CPU."""

from __future__ import annotations

import http.client
import ssl
import sys
import urllib.error
import urllib.request

from syncommon.hosts import DEFAULT_COMMAND_PORT

TIMEOUT_S = 4.0


def _loopback_tls() -> ssl.SSLContext:
    """TLS without verifying the certificate: the check reads the node's own loopback port
    for a status only (no token, nothing secret), so whose certificate it is does not matter."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def healthy(port: int = DEFAULT_COMMAND_PORT, host: str = "127.0.0.1") -> bool:
    """Whether `GET /health` at host:port answers 200 (HTTP first, then HTTPS)."""
    for scheme in ("http", "https"):
        context = _loopback_tls() if scheme == "https" else None
        try:
            with urllib.request.urlopen(f"{scheme}://{host}:{port}/health", timeout=TIMEOUT_S,
                                        context=context) as answer:
                return bool(answer.status == 200)
        except urllib.error.HTTPError:
            return False  # the node answered, not 200
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            continue  # nothing there, or the other scheme
    return False


def main(argv: list[str]) -> int:
    """Exit status for the container runtime: 0 healthy, 1 not."""
    return 0 if healthy(int(argv[0]) if argv else DEFAULT_COMMAND_PORT) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
