"""Network namespaces for the wide-area harness: create and delete them with `ip`, and move
the calling thread into one (`setns`), so a process can open tun devices and sockets inside
a namespace it did not start in."""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import threading
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
_LIBC = ctypes.CDLL(None, use_errno=True)


def ip(*args: str) -> None:
    """Run `ip *args`; a failure raises `RuntimeError` with ip's own message."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")


def create_namespace(name: str) -> None:
    """A new network namespace with its loopback up."""
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")


def delete_namespace(name: str) -> None:
    """Delete a namespace if it exists (its devices go with it)."""
    if os.path.exists(os.path.join(NETNS_DIR, name)):
        ip("netns", "del", name)


def enter_namespace(name: str) -> None:
    """Move the calling thread into namespace `name` (sockets and tun devices it opens from
    now on live there)."""
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        if _LIBC.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns into {name}: {os.strerror(error)}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def inside_namespace(name: str) -> Iterator[None]:
    """Run a block in namespace `name` and return the calling thread to its own after."""
    home = os.open(f"/proc/self/task/{_thread_id()}/ns/net", os.O_RDONLY)
    try:
        enter_namespace(name)
        yield
    finally:
        _LIBC.setns(home, CLONE_NEWNET)
        os.close(home)


def _thread_id() -> int:
    return threading.get_native_id()
