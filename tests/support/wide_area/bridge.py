"""A TCP bridge from 127.0.0.1 in this process's namespace to an address inside another
namespace, so a Driver (or a health probe) outside the emulated network reaches a node in it."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.wide_area.namespaces import inside_namespace

CHUNK = 256 * 1024


def connect_in(namespace: str, address: tuple[str, int], timeout: float = 10.0
               ) -> socket.socket:
    """A TCP connection opened from inside `namespace`."""
    with inside_namespace(namespace):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.settimeout(None)
    except OSError:
        sock.close()
        raise
    return sock


def listen_in(namespace: str, address: tuple[str, int]) -> socket.socket:
    """A listening TCP socket bound inside `namespace`."""
    with inside_namespace(namespace):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(16)
    return sock


class NamespaceBridge:
    """Listens on 127.0.0.1 (an ephemeral `port`); each connection is relayed to `target`
    reached from inside `namespace`. `close()` stops accepting and cuts open relays."""

    def __init__(self, namespace: str, target: tuple[str, int]) -> None:
        self.namespace = namespace
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name=f"bridge-{self.port}", daemon=True).start()

    def close(self) -> None:
        """Stop the bridge and every relay through it."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                remote = connect_in(self.namespace, self.target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, remote))
            for source, sink in ((client, remote), (remote, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                chunk = source.recv(CHUNK)
                if not chunk:
                    break
                sink.sendall(chunk)
            except OSError:
                break
        for sock in (source, sink):
            _close(sock)
            with self._lock:
                self._open.discard(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
