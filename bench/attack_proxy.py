"""A malicious stand-in: a TCP proxy process in front of an honest Worker's data port that
rewrites that Worker's `fit` replies, speaking the real data-port protocol.

The attack is named by the run: a route `/data/<p>/<e>/<case>-<attack>/fit` gets `<attack>`
(everything after the last `-`); `none` and every other call pass through unchanged. Each
connection is served in lockstep (one request, then its answer), as the TTP uses it.

Attacks on the reply's tensors: `nan`, `inf`, `nan1` (one coordinate), `scale` (x 1e6),
`int64`, `float16`; on its header: `samples` (n_samples 10^15); answered at once from the
request's global weights, so they arrive before every honest reply: `shape` (the first
tensor one row larger) and `extra` (one more tensor); on the framing: `trickle` (one byte
every 50 ms, never finishing) and `huge` (announces a 64 GiB body, then stalls).

Run: `python -m bench.attack_proxy LISTEN_PORT TARGET_PORT SIGNAL_DIR`.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from pathlib import Path

import torch

from synalgo.codec import decode, encode
from synergos_testing.local_processes import LOOPBACK

TRICKLE_PAUSE = 0.05
HUGE_BODY = 64 * 1024**3
FIRST = ("shape", "extra")


class Stream:
    """Reads HTTP/1.1 messages (head and Content-Length body) from one socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = b""

    def message(self) -> tuple[bytes, dict[str, str], bytes] | None:
        """`(start line, lower-cased headers, body)`, or None when the peer closed."""
        while b"\r\n\r\n" not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.pending += chunk
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        start, *lines = head.split(b"\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.pending) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.pending += chunk
        body, self.pending = self.pending[:length], self.pending[length:]
        return start, headers, body


def attack_of(start_line: bytes) -> str:
    """The attack a request line asks for (`none` for anything but a fit)."""
    path = start_line.split(b" ")[1].decode("latin-1")
    if not path.endswith("/fit"):
        return "none"
    run_id = path.rsplit("/", 2)[-2]
    return run_id.rsplit("-", 1)[-1] if "-" in run_id else "none"


def poisoned(body: bytes, attack: str) -> bytes:
    """The fit reply `body` rewritten by `attack`."""
    tensors, header = decode(body)
    floats = [name for name, tensor in tensors.items() if tensor.is_floating_point()]
    for name in floats:
        tensor = tensors[name]
        if attack == "nan":
            tensors[name] = torch.full_like(tensor, float("nan"))
        elif attack == "inf":
            tensors[name] = torch.full_like(tensor, float("inf"))
        elif attack == "scale":
            tensors[name] = tensor * 1e6
        elif attack == "int64":
            tensors[name] = tensor.round().to(torch.int64)
        elif attack == "float16":
            tensors[name] = tensor.to(torch.float16)
    if attack == "nan1":
        first = tensors[floats[0]].clone()
        first.view(-1)[0] = float("nan")
        tensors[floats[0]] = first
    if attack == "samples":
        header["n_samples"] = 10**15
    return encode(tensors, header)


def forged_first(request_body: bytes, attack: str) -> bytes:
    """A reply built from the request's global weights, with a wrong layout."""
    tensors, _ = decode(request_body)
    if attack == "shape":
        name = next(iter(tensors))
        tensors[name] = torch.zeros((tensors[name].shape[0] + 1, *tensors[name].shape[1:]))
    else:
        tensors["extra.weight"] = torch.zeros(3)
    return encode(tensors, {"n_samples": 10, "loss": 0.5, "epochs_run": 1})


def answer(client: socket.socket, body: bytes) -> None:
    """Send a 200 reply with `body`."""
    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body) + body)


def stall(client: socket.socket, attack: str, body: bytes) -> None:
    """Trickle `body` one byte at a time, or announce a huge body; never finish."""
    length = HUGE_BODY if attack == "huge" else len(body) * 1000
    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % length)
    data = body * 1000
    for index in range(len(data)):
        client.sendall(data[index:index + 1])
        time.sleep(TRICKLE_PAUSE)


def serve_connection(client: socket.socket, target_port: int) -> None:
    """Relay one TTP connection to the Worker, rewriting its fit replies."""
    worker = socket.create_connection((LOOPBACK, target_port), timeout=120)
    from_client, from_worker = Stream(client), Stream(worker)
    try:
        while (request := from_client.message()) is not None:
            start, headers, body = request
            attack = attack_of(start)
            if attack in FIRST:
                answer(client, forged_first(body, attack))
                continue
            head = start + b"\r\n" + b"".join(
                f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items())
            worker.sendall(head + b"\r\n" + body)
            reply = from_worker.message()
            if reply is None:
                return
            status, _, reply_body = reply
            if attack in ("trickle", "huge"):
                stall(client, attack, reply_body)
                return
            if not status.startswith(b"HTTP/1.1 200"):
                client.sendall(status + b"\r\nContent-Length: %d\r\n\r\n" % len(reply_body)
                               + reply_body)
                continue
            answer(client, poisoned(reply_body, attack) if attack != "none" else reply_body)
    except OSError:
        pass
    finally:
        for sock in (client, worker):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def serve(listen_port: int, target_port: int, signal_dir: Path) -> None:
    """Accept connections forever, each relayed on its own thread."""
    listener = socket.create_server((LOOPBACK, listen_port))
    (signal_dir / "listening").write_text(str(listen_port))
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(client, target_port),
                         daemon=True).start()


if __name__ == "__main__":
    listen, target, directory = sys.argv[1:4]
    serve(int(listen), int(target), Path(directory))
