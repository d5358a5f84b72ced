"""Compressed updates: what a Worker sends expands back to float32 weights on the TTP, the
rounding error is fed back instead of piling up, and a reply that does not fit its mode is
refused with the reason."""

from __future__ import annotations

import pytest
import torch

from synalgo.compression import compress_update, expand_update
from synalgo.run_config import normalise_run

GLOBAL = {"w": torch.zeros(50, 40), "b": torch.zeros(40), "steps": torch.tensor(3)}


def local_model(step: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(step)
    return {"w": torch.randn(50, 40, generator=generator) * 0.01,
            "b": torch.randn(40, generator=generator) * 0.01, "steps": torch.tensor(4)}


@pytest.mark.parametrize(("mode", "dtype", "tolerance"), [
    ("float16", torch.float16, 3e-5), ("int8", torch.int8, 5e-4)])
def test_a_compressed_update_expands_to_the_local_weights_in_float32(mode, dtype, tolerance):
    local = local_model(0)
    tensors, entry = compress_update(local, GLOBAL, mode, {}, torch.Generator().manual_seed(1))
    assert tensors["w"].dtype == dtype and tensors["steps"].dtype == torch.int64
    expanded = expand_update(tensors, entry, mode, GLOBAL)
    assert expanded["w"].dtype == torch.float32
    assert torch.allclose(expanded["w"], local["w"], atol=tolerance)
    assert torch.equal(expanded["steps"], local["steps"])


def test_error_feedback_keeps_the_summed_int8_updates_on_the_true_sum():
    residual: dict[str, torch.Tensor] = {}
    true_sum = torch.zeros(50, 40)
    sent_sum = torch.zeros(50, 40)
    generator = torch.Generator().manual_seed(2)
    for step in range(30):
        local = local_model(step)
        tensors, entry = compress_update(local, GLOBAL, "int8", residual, generator)
        true_sum += local["w"]
        sent_sum += expand_update(tensors, entry, "int8", GLOBAL)["w"]
    # what is still missing is exactly one round's residual, not thirty rounds' worth
    assert torch.allclose(true_sum - sent_sum, residual["w"], atol=1e-5)
    assert float((true_sum - sent_sum).abs().max()) < float(local["w"].abs().max()) / 100


@pytest.mark.parametrize(("tensors", "entry", "reason"), [
    ({"w": torch.zeros(50, 40), "b": torch.zeros(40, dtype=torch.int8)},
     {"mode": "int8", "scales": {"w": 1.0, "b": 1.0}},
     "'w' is float32, int8 updates travel as int8"),
    ({"w": torch.zeros(50, 40, dtype=torch.int8)}, {"mode": "int8", "scales": {}},
     "'w' has scale None"),
    ({"w": torch.zeros(50, 40, dtype=torch.int8)}, {"mode": "float16"},
     "the run's update_compression is 'int8'"),
    ({"w": torch.zeros(5, 40, dtype=torch.int8)}, {"mode": "int8", "scales": {"w": 1.0}},
     "'w' has shape \\[5, 40\\]"),
])
def test_a_reply_that_does_not_fit_its_mode_is_refused_with_the_reason(tensors, entry, reason):
    with pytest.raises(ValueError, match=reason):
        expand_update(tensors, entry, "int8", GLOBAL)


@pytest.mark.parametrize(("fields", "reason"), [
    ({"update_compression": "bf16"}, "must be one of 'none', 'float16', 'int8'"),
    ({"update_compression": "int8", "algorithm": "FedGKT", "L": 1,
      "allow_label_sharing": True}, "FedGKT replies are features and logits"),
    ({"update_compression": "float16", "is_snn": True}, "secure aggregation"),
])
def test_incompatible_compression_settings_are_named(fields, reason):
    _, errors = normalise_run({**fields, "lr_scheduler": None})
    assert reason in errors["update_compression"]
