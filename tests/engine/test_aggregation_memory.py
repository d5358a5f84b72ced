"""The TTP's memory while aggregating does not depend on the number of Workers: replies are
folded one at a time into float64 running sums (synalgo's accumulator), never held N at once.

Measured in a subprocess (`aggregation_memory_probe`) through the engine's own reply path,
with glibc told to return every freed buffer to the OS so the peak is exact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ALLOWANCE = 4 * 1024 * 1024  # interpreter/allocator overhead and one 512 KiB folding slice


def peak_while_folding(count: int, folder: Path) -> dict[str, float]:
    """Peak resident memory above the pre-round baseline while folding `count` replies."""
    folder.mkdir()
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.engine.aggregation_memory_probe", str(count), str(folder)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
        cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_aggregation_memory_stays_under_three_model_sizes_for_any_worker_count(
        tmp_path: Path) -> None:
    two = peak_while_folding(2, tmp_path / "two")
    eight = peak_while_folding(8, tmp_path / "eight")
    model = eight["model"]
    assert two["max_error"] < 1e-5 and eight["max_error"] < 1e-5  # the mean is right
    # 2x for the float64 running sums + 1x for the one reply being folded
    assert eight["peak"] <= 3 * model + ALLOWANCE, eight["peak"] / model
    assert abs(eight["peak"] - two["peak"]) < 0.05 * model, (two["peak"], eight["peak"])
