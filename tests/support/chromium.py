"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: JSON messages ended by NUL on file descriptors 3 and 4), so a
test can load a page, fill in a form and read what it shows, with no extra package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium")
COMMAND_TIMEOUT_S = 60.0


class HeadlessChromium:
    """One headless Chromium with one page; a context manager that ends the browser."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM, "Debian's chromium is missing: apt-get install chromium"
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # the browser reads commands on fd 3 and writes answers on fd 4: bash parks the pipes
        # on 90/91 first (one of them may itself be 3 or 4), then moves them there
        assert {to_browser_read, from_browser_write}.isdisjoint({90, 91})
        moves = (f"90<&{to_browser_read} 91>&{from_browser_write} "
                 f"{to_browser_read}<&- {from_browser_write}>&- 3<&90 4>&91 90<&- 91>&-")
        self._process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" {moves}', CHROMIUM, "--headless", "--no-sandbox",
             "--disable-gpu", "--disable-background-networking", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(to_browser_read, from_browser_write))
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        targets = self.command("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self._session = self.command("Target.attachToTarget", targetId=page["targetId"],
                                     flatten=True)["sessionId"]

    def command(self, method: str, session: str | None = None, **params: Any) -> dict:
        """Send one DevTools command and return its result (events are skipped)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while time.monotonic() < deadline:
            answer = self._read_message()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
        raise TimeoutError(f"{method}: no answer in {COMMAND_TIMEOUT_S}s")

    def navigate(self, url: str) -> None:
        """Load `url` in the page."""
        self.command("Page.navigate", session=self._session, url=url)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.command("Runtime.evaluate", session=self._session,
                              expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 60.0) -> Any:
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"{expression!r} stayed false for {timeout}s")

    def _read_message(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def close(self) -> None:
        """End the browser (by its PID) and close the pipes."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

