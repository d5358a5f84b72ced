"""A node started by either harness ends when the process that started it is killed outright
(SIGKILL, as `timeout` or an OOM kill would): it gets SIGTERM and stops as it would be told
to, instead of running on orphaned (real processes)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from synrest.shutdown import EXIT_DEADLINE
from tests.engine.local_grid import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]
REPOSITORY = Path(__file__).resolve().parents[2]

# Each starts a Worker with one harness, waits for its health, prints its PID and log path,
# then waits for its own end.
PARENTS = {
    "local_processes": """
import sys
from pathlib import Path
from synergos_testing.local_processes import NodeProcesses
home = Path(sys.argv[1])
nodes = NodeProcesses(home / "logs")
node = nodes.start_worker("worker", home / "data", home / "outputs")
nodes.wait_healthy(180)
print(node.process.pid, node.log_path, flush=True)
sys.stdin.read()
""",
    "tests.support.processes": """
import sys
from pathlib import Path
from tests.support.processes import free_port, start_service
home = Path(sys.argv[1])
service = start_service("synergos_worker", [
    "--data_dir", str(home / "data"), "--outputs_dir", str(home / "outputs"),
    "--data_port", str(free_port())], home, "worker",
    env={"SYNERGOS_TOKEN": "die-with-parent-token-0123456789"}, wait_for_health=False)
service.wait_healthy(180)
print(service.process.pid, service.log_path, flush=True)
sys.stdin.read()
""",
}


def process_state(pid: int) -> str | None:
    """The kernel's state letter of a process (R, S, Z...), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("harness", sorted(PARENTS))
def test_a_node_stops_when_the_process_that_started_it_is_killed(harness: str,
                                                                 tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))}
    parent = subprocess.Popen([sys.executable, "-c", PARENTS[harness], str(tmp_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                              cwd=REPOSITORY)
    node_pid = None
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline().decode().split()  # b"" if the parent failed
        assert len(line) == 2, f"the parent did not start its node (exit {parent.poll()})"
        node_pid, log_path = int(line[0]), Path(line[1])
        assert process_state(node_pid) not in (None, "Z")
        parent.kill()  # no handler, no fixture, no cleanup runs
        parent.wait(timeout=30)
        # its node got SIGTERM and stopped: gone, or a zombie its new parent has not reaped
        wait_for(lambda: process_state(node_pid) in (None, "Z"), timeout=EXIT_DEADLINE + 30)
        log = log_path.read_text(errors="replace")
        assert "received SIGTERM" in log and "worker stopped" in log, log[-3000:]
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=30)
        if node_pid is not None and process_state(node_pid) not in (None, "Z"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node_pid, signal.SIGKILL)
