"""What the test proxies in front of a Worker's data port share: the accept loop and the
Worker-to-client direction; each proxy brings its own client-to-Worker pump."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.support.processes import LOOPBACK

ClientPump = Callable[[socket.socket, socket.socket], None]


def received_chunks(sock: socket.socket) -> Iterator[bytes]:
    """The chunks `sock` receives, until it closes or fails."""
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return
        if not chunk:
            return
        yield chunk


def pump_from_worker(worker: socket.socket, client: socket.socket) -> None:
    """Forward the Worker's bytes; when the Worker goes away, so does the client's socket."""
    while True:
        try:
            chunk = worker.recv(65536)
            if not chunk:
                break
            client.sendall(chunk)
        except OSError:
            break
    close_both(client, worker)


def close_both(*sockets: socket.socket) -> None:
    """Shut down and close sockets, ignoring ones already gone."""
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


def serve(listen_port: int, target_port: int, signal_dir: Path, client_pump: ClientPump,
          host: str = LOOPBACK) -> None:
    """Accept connections on `host` forever, one connection to the Worker's port on the same
    host per client connection; the client's bytes go through `client_pump(client, worker)`,
    the Worker's straight back."""
    listener = socket.create_server((host, listen_port))
    (signal_dir / "listening").write_text(str(listen_port))
    while True:
        client, _ = listener.accept()
        try:
            worker = socket.create_connection((host, target_port), timeout=5)
        except OSError:
            close_both(client)
            continue
        worker.settimeout(None)
        threading.Thread(target=client_pump, args=(client, worker), daemon=True).start()
        threading.Thread(target=pump_from_worker, args=(worker, client), daemon=True).start()
