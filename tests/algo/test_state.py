"""`synalgo.state.all_finite`: the finiteness check every received model goes through."""

from __future__ import annotations

import pytest
import torch

from synalgo.state import all_finite


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32,
                                   torch.float64])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_one_non_finite_value_anywhere_is_found(dtype: torch.dtype, bad: float) -> None:
    for position in (0, 4_999, 9_999):
        tensor = torch.zeros(10_000, dtype=dtype)
        tensor[position] = bad
        assert not all_finite(tensor.view(100, 100))


def test_finite_values_pass_even_where_their_sum_overflows() -> None:
    huge = torch.full((8,), torch.finfo(torch.float32).max)
    assert not torch.isfinite(huge.sum())
    assert all_finite(huge)
    assert all_finite(torch.randn(3, 4))


def test_empty_and_zero_dimensional_tensors() -> None:
    assert all_finite(torch.zeros(0))
    assert all_finite(torch.zeros(0, 3))
    assert all_finite(torch.tensor(1.5))
    assert not all_finite(torch.tensor(float("nan")))


def test_a_tensor_that_needs_gradients() -> None:
    weights = torch.ones(5, requires_grad=True)
    assert all_finite(weights)
