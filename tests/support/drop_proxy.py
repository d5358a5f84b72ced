"""A TCP proxy process that loses the answer to the first request it forwards.

It forwards each client connection to the target; on the first connection it passes the
request on, waits until the target has answered, then closes the client side without a byte
of that answer and writes `<SIGNAL_DIR>/dropped`. Every later connection is forwarded as is.
So a client sees the failure a timed-out or cut call leaves: the work was done, the answer
never came.

Run: `python -m tests.support.drop_proxy LISTEN_PORT TARGET_PORT SIGNAL_DIR`.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from pathlib import Path

from tests.support.processes import LOOPBACK


def pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy `source` to `sink` until either side closes."""
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def serve(client: socket.socket, target_port: int, drop: bool, signal_dir: Path) -> None:
    """Forward one client connection (dropping the answer when `drop`)."""
    upstream = socket.create_connection((LOOPBACK, target_port), timeout=60)
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    if not drop:
        pump(upstream, client)
        return
    with contextlib.suppress(OSError):
        upstream.recv(65536)  # the target answered: the work is done
    (signal_dir / "dropped").write_text("1")
    for sock in (client, upstream):  # shutdown, not close: the pump thread still reads
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def main(argv: list[str]) -> int:
    listen_port, target_port, signal_dir = int(argv[0]), int(argv[1]), Path(argv[2])
    listener = socket.create_server((LOOPBACK, listen_port))
    (signal_dir / "listening").write_text("1")
    first = True
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, target_port, first, signal_dir),
                         daemon=True).start()
        first = False


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
