"""The preprocessing benchmark runs end to end on a small table and prints its verdict table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_benchmark_prints_ratios_and_verdicts() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "preprocess.py"), "--rows", "3000",
         "--columns", "8", "--categorical", "2", "--repeats", "1"],
        capture_output=True, text=True, check=True, cwd=REPO, timeout=120)
    table = done.stdout
    assert "| time (s) |" in table and "| peak memory growth (MiB) |" in table
    assert table.count("PASS") + table.count("MISS") == 2
    assert "Prepared X: 3,000 x" in table
