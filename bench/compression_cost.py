"""CPU cost of compressed updates: `compress_update` (a Worker's reply, the TTP's delta to
the Workers) and `expand_update` (the TTP per reply, a Worker per received delta) on a
model's weights, per `update_compression` mode, against encoding the float32 weights.

Run from the repository root: `.venv/bin/python -m bench.compression_cost [--model mlp10m]
[--repeats 5] [--threads 1] [--baseline OTHER_COMPRESSION_PY] [--markdown out.md]`.
`--baseline` times another implementation of `synalgo/compression.py` (e.g. an earlier
commit's, `git show REV:synalgo/compression.py > old.py`) in the same run, alternating with
the current one, so both see the same load. Times are medians of `--repeats`.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from bench import common
from bench.report import publish
from synalgo import compression
from synalgo.safetensors_format import safetensors_bytes

MODES = ("float16", "int8")


def load_module(path: Path) -> ModuleType:
    """A compression module from a file (the baseline implementation)."""
    spec = importlib.util.spec_from_file_location("compression_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seconds(call: Callable[[], Any], repeats: int) -> float:
    """Median wall seconds of `repeats` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(module: ModuleType, mode: str, received: dict[str, torch.Tensor],
            local: dict[str, torch.Tensor], repeats: int) -> dict[str, float]:
    """Seconds to compress `local` against `received` and to expand the result."""
    residual: dict[str, torch.Tensor] = {}
    generator = torch.Generator().manual_seed(1)
    tensors, entry = module.compress_update(local, received, mode, residual, generator)
    return {
        "compress_s": seconds(lambda: module.compress_update(
            local, received, mode, residual, generator), repeats),
        "expand_s": seconds(lambda: module.expand_update(tensors, entry, mode, received),
                            repeats),
    }


def main(argv: list[str] | None = None) -> int:
    """Time every mode with the current (and the baseline) implementation; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mlp10m", choices=common.MODEL_NAMES)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (a Worker started with --cpus 1 has one)")
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    received = {name: tensor.detach().clone()
                for name, tensor in common.build_model(args.model).state_dict().items()}
    generator = torch.Generator().manual_seed(0)
    local = {name: tensor + 0.01 * torch.randn(tensor.shape, generator=generator)
             for name, tensor in received.items()}
    implementations = {"current": compression}
    if args.baseline is not None:
        implementations = {"baseline": load_module(args.baseline), **implementations}
    lines = ["| implementation | mode | compress s | expand s | compress / float32 encode |",
             "|---|---|---:|---:|---:|"]
    encode_s = seconds(lambda: safetensors_bytes(local), args.repeats)
    for mode in MODES:
        for label, module in implementations.items():
            row = measure(module, mode, received, local, args.repeats)
            lines.append(f"| {label} | {mode} | {row['compress_s']:.3f} | {row['expand_s']:.3f} "
                         f"| {row['compress_s'] / encode_s:.2f} |")
    parameters = sum(tensor.numel() for tensor in received.values())
    publish("CPU cost of compressed updates", "bench.compression_cost", argv,
            f"{args.model} ({parameters:,} parameters), {args.threads} torch thread(s); "
            f"encoding the float32 weights (safetensors): {encode_s:.3f} s.\n\n"
            + "\n".join(lines), args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
