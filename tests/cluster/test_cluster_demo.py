"""`make cluster-demo`: the SynCluster demo trains its runs and optimisation, prints the
RabbitMQ UI's address and login, and the UI's Queues page (headless Chromium, logged in
with that login) lists the SynCluster queues."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.chromium import HeadlessChromium

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DEMO_TIMEOUT_S = 900.0
UP_LINE = re.compile(r"-> up: browse (http://127\.0\.0\.1:\d+/)#/queues")
LOGIN_LINE = re.compile(r"management UI: (\S+)\s+\(login (\S+) / (\S+),")
QUEUES = ("preprocess", "train", "evaluate", "completed", "dead_letter")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The demo running with `--keep`: (its output so far, its log file)."""
    home = tmp_path_factory.mktemp("cluster-demo")
    log = home / "demo.out"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "examples.cluster_demo", "--keep", "--workdir",
             str(home / "run")], stdout=output, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "MLFLOW_DISABLE_TELEMETRY": "true"},
            start_new_session=True)
    try:
        deadline = time.monotonic() + DEMO_TIMEOUT_S
        while not UP_LINE.search(log.read_text(errors="replace")):
            assert process.poll() is None, f"the demo exited:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"the demo is not up:\n{log.read_text()[-4000:]}"
            time.sleep(0.5)
        yield log.read_text(errors="replace"), log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_the_demo_trains_and_reports_its_queues(demo: tuple[str, Path]) -> None:
    output, _ = demo
    assert "3 models trained" in output
    counts = {line.split()[0]: [int(value) for value in line.split()[1:]]
              for line in output.splitlines()
              if line.split() and line.split()[0] in QUEUES and len(line.split()) == 4}
    assert set(counts) == set(QUEUES), output
    # The printed counts are the management plugin's last sample, which may lag the jobs by
    # its statistics interval; the API is asked again until it has caught up (bounded).
    address, user, password = LOGIN_LINE.search(output).groups()
    published: dict[str, int] = {}
    deadline = time.monotonic() + 120
    while not (published.get("train", 0) >= 3 and published.get("completed", 0) >= 3):
        assert time.monotonic() < deadline, (published, counts)
        answer = requests.get(address + "api/queues", auth=(user, password), timeout=10)
        published = {queue["name"]: queue.get("message_stats", {}).get("publish", 0)
                      for queue in answer.json()}
        time.sleep(0.5)  # the plugin's next sample, not a synchronisation


def test_the_queues_page_lists_the_queues_after_logging_in(
        demo: tuple[str, Path], tmp_path: Path) -> None:
    output, _ = demo
    address, user, password = LOGIN_LINE.search(output).groups()
    with HeadlessChromium(tmp_path / "chromium") as browser:
        browser.navigate(address)
        browser.wait_for("document.querySelector('input[name=username]') !== null")
        browser.evaluate(
            f"document.querySelector('input[name=username]').value = {json.dumps(user)};"
            f"document.querySelector('input[name=password]').value = {json.dumps(password)};"
            "document.querySelector('input[type=submit]').click(); true")
        browser.wait_for("document.querySelector('#logout') !== null")  # logged in
        browser.navigate(address + "#/queues")
        shown = browser.wait_for(
            "(() => { const t = document.querySelector('table.list');"
            " return t && t.innerText.includes('dead_letter') ? t.innerText : ''; })()")
    for queue in QUEUES:
        assert queue in shown, f"{queue} missing from the Queues page:\n{shown}"
