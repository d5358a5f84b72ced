"""The start-up warm-up: it loads what torch's first optimizer step needs, and it leaves the
global random number generator alone (seeded trainings stay reproducible)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, torch
torch.manual_seed(7)
expected = torch.rand(3)
torch.manual_seed(7)
from synalgo.warmup import start_torch_warm_up
start_torch_warm_up().join(timeout=120)
assert "torch._dynamo" in sys.modules, "the warm-up did not run an optimizer step"
assert torch.equal(torch.rand(3), expected), "the warm-up consumed random numbers"
print("ok")
"""


def test_the_warm_up_loads_the_first_step_imports_without_using_the_rng() -> None:
    # a fresh interpreter: this test process may have imported torch._dynamo already
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
