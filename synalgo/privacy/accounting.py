"""Privacy accounting with Google's `dp-accounting` (Rényi DP of the sampled Gaussian
mechanism, converted to (ε, δ)).

A history is a list of `(noise_multiplier, sampling_rate, steps)`: `steps` compositions of
a Gaussian mechanism with that noise multiplier applied to a Poisson sample of rate
`sampling_rate` (1.0: every record every step, no amplification). `dp_accounting` (and the
SciPy it loads) is imported on the first call: nodes that never account start without it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

# Rényi orders: steps of 1/4 then 1/2 up to 64, then coarser. Orders in (1, 1.5] rarely
# give the best bound and the library's series for them converges slowly (a warning each).
ORDERS: tuple[float, ...] = (
    1.75, *(2 + x / 4 for x in range(32)), *(10 + x / 2 for x in range(108)),
    *range(64, 128, 4), 128.0, 160.0, 256.0, 512.0, 1024.0)

History = Iterable[tuple[float, float, int]]


def epsilon(history: History, delta: float) -> float:
    """ε(δ) after every step of `history` (0 when nothing was spent, inf without noise)."""
    import dp_accounting
    from dp_accounting.rdp import RdpAccountant

    accountant = RdpAccountant(list(ORDERS))
    spent = False
    for noise_multiplier, sampling_rate, steps in history:
        if steps <= 0:
            continue
        if noise_multiplier <= 0:
            return math.inf
        event: dp_accounting.DpEvent = dp_accounting.GaussianDpEvent(noise_multiplier)
        if sampling_rate < 1.0:
            event = dp_accounting.PoissonSampledDpEvent(sampling_rate, event)
        accountant.compose(dp_accounting.SelfComposedDpEvent(event, int(steps)))
        spent = True
    return float(accountant.get_epsilon(delta)) if spent else 0.0


def noise_for_epsilon(target_epsilon: float, delta: float, sampling_rate: float,
                      steps: int, tolerance: float = 1e-3) -> float:
    """The smallest noise multiplier (within `tolerance`, relative) whose ε(δ) after `steps`
    steps at `sampling_rate` is at most `target_epsilon`."""
    def spent(noise: float) -> float:
        return epsilon([(noise, sampling_rate, steps)], delta)

    low, high = 0.0, 1.0
    while spent(high) > target_epsilon:
        low, high = high, high * 2.0
        if high > 1e6:
            raise ValueError(f"no noise multiplier reaches epsilon {target_epsilon}")
    while high - low > tolerance * high:
        middle = (low + high) / 2.0
        if spent(middle) > target_epsilon:
            low = middle
        else:
            high = middle
    return high
