"""`ExitGuard`: the process ends after an orderly stop even with threads still running, at
the deadline after a signal, and at once on a second signal (the exit is a stand-in)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from synrest.shutdown import ExitGuard, leftover_threads


class Exits:
    """Records the exit codes an `ExitGuard` asks for instead of ending the process."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.called = threading.Event()

    def __call__(self, code: int) -> None:
        self.codes.append(code)
        self.called.set()


def test_an_orderly_stop_exits_with_its_code() -> None:
    exits = Exits()
    assert ExitGuard(deadline=60, grace=5, exit_process=exits).finish(0) == 0
    assert exits.codes == [0]


def test_a_thread_still_running_is_named_and_does_not_hold_the_exit(
        caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    busy = threading.Thread(target=release.wait, name="busy-job", daemon=False)
    busy.start()
    exits = Exits()
    try:
        with caplog.at_level(logging.WARNING, logger="synrest.shutdown"):
            ExitGuard(deadline=60, grace=0.2, exit_process=exits).finish(0)
        assert exits.codes == [0]
        assert busy.is_alive() and busy in leftover_threads()
        assert any("busy-job" in record.getMessage() for record in caplog.records)
    finally:
        release.set()
        busy.join()


def test_a_thread_ending_within_the_grace_is_waited_for(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    started = threading.Event()
    release = threading.Event()

    def work() -> None:
        started.set()
        release.wait()

    quick = threading.Thread(target=work, name="quick-job", daemon=False)
    quick.start()
    started.wait()
    guard = ExitGuard(deadline=60, grace=30, exit_process=Exits())
    release.set()  # ends while `finish` waits for it
    with caplog.at_level(logging.WARNING, logger="synrest.shutdown"):
        guard.finish(0)
    assert not quick.is_alive()
    assert not any("quick-job" in record.getMessage() for record in caplog.records)


def test_the_deadline_after_a_signal_ends_the_process_with_status_1() -> None:
    exits = Exits()
    guard = ExitGuard(deadline=0.2, grace=5, exit_process=exits)
    guard.start()
    assert not exits.called.wait(0.05) and not guard.armed  # idle until armed
    guard.arm()
    assert guard.armed
    assert exits.called.wait(30)
    assert exits.codes == [1]


def test_a_second_signal_ends_the_process_at_once() -> None:
    exits = Exits()
    guard = ExitGuard(deadline=3600, grace=5, exit_process=exits)
    guard.start()
    guard.arm()
    assert not exits.called.is_set()
    guard.arm()
    assert exits.called.wait(30)  # long before the hour's deadline
    assert exits.codes == [1]


def test_a_pool_thread_started_from_a_daemon_thread_counts_as_left_over() -> None:
    # Python joins it at exit although it inherited `daemon` (a job's call pool does)
    release = threading.Event()
    pools: list[ThreadPoolExecutor] = []

    def start_pool() -> None:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="daemon-born")
        pool.submit(release.wait)
        pools.append(pool)

    starter = threading.Thread(target=start_pool, daemon=True)
    starter.start()
    starter.join()
    try:
        names = [thread.name for thread in leftover_threads()]
        assert any(name.startswith("daemon-born") for name in names), names
    finally:
        release.set()
        pools[0].shutdown(wait=True)
