"""Measures the TTP's peak memory while folding N Worker replies (run as a subprocess).

`python -m tests.engine.aggregation_memory_probe N FOLDER` writes N codec replies (a ~24 MB
model) to FOLDER, then folds them through the engine's reply path (read_body -> decode_views
-> RoundAggregation.fold -> finish_round) and prints JSON `{"peak", "model", "max_error"}`:
the peak resident memory above the pre-round baseline, in bytes. Run it with
`MALLOC_MMAP_THRESHOLD_=65536` so freed buffers go back to the OS and the peak is exact.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import time
from pathlib import Path

import torch

from synalgo.codec import encode
from synalgo.strategies import get_strategy
from synergos_ttp.engine.payloads import decode_views, read_body
from synergos_ttp.engine.rounds import RoundAggregation

SPEC = [{"l_type": "Linear", "structure": {"in_features": 1500, "out_features": 1500},
         "activation": "relu"},
        {"l_type": "Linear", "structure": {"in_features": 1500, "out_features": 1500},
         "activation": "relu"},
        {"l_type": "Linear", "structure": {"in_features": 1500, "out_features": 1000},
         "activation": None}]
RUN = {"algorithm": "FedAvg", "lr_scheduler": None, "criterion": "MSELoss"}


def resident_kib(field: str) -> int:
    """`VmRSS` / `VmHWM` of this process, in KiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1))


def main(count: int, folder: Path) -> dict[str, float]:
    """Write `count` replies, fold them, and report the peak above the baseline."""
    strategy = get_strategy(RUN, spec=SPEC)
    state = strategy.initial_global_state(1)
    model_bytes = sum(t.numel() * t.element_size() for t in state.values())
    weights = [10 + index for index in range(count)]
    for index, weight in enumerate(weights):
        reply = {name: tensor + index for name, tensor in state.items()}
        (folder / f"reply_{index}.bin").write_bytes(
            encode(reply, {"n_samples": weight, "loss": 0.5}))
        del reply
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
    baseline = resident_kib("VmRSS")
    aggregation = RoundAggregation(strategy.start_round(state))
    started = time.monotonic()
    for index in range(count):
        path = folder / f"reply_{index}.bin"
        with open(path, "rb") as handle:
            buffer = read_body(handle, path.stat().st_size, 1 << 31)
        tensors, header = decode_views(buffer)
        with aggregation.gate:
            aggregation.fold(f"worker_{index}", tensors, header, started)
        del buffer, tensors
    new_state = strategy.finish_round(state, aggregation.aggregator)
    peak = (resident_kib("VmHWM") - baseline) * 1024
    shift = sum(index * weight for index, weight in enumerate(weights)) / sum(weights)
    error = max(float((new_state[name] - (tensor + shift)).abs().max())
                for name, tensor in state.items())
    return {"peak": peak, "model": model_bytes, "max_error": error}


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(json.dumps(main(int(sys.argv[1]), Path(sys.argv[2]))))
