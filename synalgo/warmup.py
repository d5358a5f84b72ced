"""Pay torch's first-step costs when a node starts, not inside the first training round.

torch imports `torch._dynamo` (about 1.3 s of CPU here) the first time any optimizer is built
or stepped; a Worker would pay it in its first `initialise`/`fit` and a TTP in its first run
validation. `start_torch_warm_up` does one tiny SGD step on a daemon thread at start-up. It
touches no random number generator, so seeded trainings stay reproducible.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger(__name__)


def warm_up_torch() -> float:
    """One SGD step on a constant one-element parameter; returns the seconds it took."""
    import torch

    started = time.perf_counter()
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    (weight * 2.0).sum().backward()
    optimizer.step()
    optimizer.zero_grad()
    return time.perf_counter() - started


def start_torch_warm_up() -> threading.Thread:
    """Run `warm_up_torch` on a daemon thread (a failure is logged, never raised)."""

    def warm_up() -> None:
        try:
            seconds = warm_up_torch()
        except Exception:  # a warm-up must never stop a node from serving
            logger.warning("torch warm-up failed", exc_info=True)
            return
        logger.debug("torch warmed up", extra={"seconds": round(seconds, 3)})

    thread = threading.Thread(target=warm_up, name="torch-warm-up", daemon=True)
    thread.start()
    return thread
