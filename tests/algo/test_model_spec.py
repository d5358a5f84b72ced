"""Model spec validation and building."""

from __future__ import annotations

import pytest
import torch

from synalgo.errors import SpecError
from synalgo.model_spec import build_model, count_parameters, validate_model_spec


def linear(in_features: int = 15, out_features: int = 1, **extra) -> dict:
    layer = {
        "is_input": True,
        "l_type": "Linear",
        "structure": {"in_features": in_features, "out_features": out_features, "bias": True},
        "activation": "sigmoid",
    }
    layer.update(extra)
    return layer


def test_seed_example_spec_is_valid_and_builds():
    spec = [linear()]
    assert validate_model_spec(spec) == {}
    model = build_model(spec, seed=1)
    out = model(torch.randn(4, 15))
    assert out.shape == (4, 1)
    assert bool(((out > 0) & (out < 1)).all())
    assert list(model.state_dict()) == ["nnl_0_linear.weight", "nnl_0_linear.bias"]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"),
    [
        ([], "model", "at least one layer"),
        ({"l_type": "Linear"}, "model", "list"),
        ([linear(l_type="Linaer")], "model.0.l_type", "did you mean 'Linear'"),
        ([linear(l_type="Module")], "model.0.l_type", "unknown layer type"),
        ([linear(activation="sigmod")], "model.0.activation", "unknown activation"),
        ([linear(activation="exec")], "model.0.activation", "unknown activation"),
        ([{"l_type": "Linear", "structure": {"in_features": 3}}],
         "model.0.structure.out_features", "required"),
        ([linear(structure={"in_features": 3, "out_features": 1, "colour": 1})],
         "model.0.structure.colour", "not a constructor argument"),
        ([linear(structure={"in_features": 3, "out_features": 1, "device": "cuda"})],
         "model.0.structure.device", "not a constructor argument"),
        ([linear(structure={"in_features": "3", "out_features": 1})],
         "model.0.structure.in_features", "expected integer"),
        ([linear(structure={"in_features": True, "out_features": 1})],
         "model.0.structure.in_features", "got boolean"),
        ([linear(structure={"in_features": 3.0, "out_features": 1})],
         "model.0.structure.in_features", "expected integer"),
        ([linear(structure={"in_features": 3, "out_features": 1, "bias": 1})],
         "model.0.structure.bias", "expected boolean"),
        ([linear(is_input="yes")], "model.0.is_input", "boolean"),
        ([linear(shape=[1])], "model.0.shape", "unknown field"),
        ([linear()] * 65, "model", "at most 64"),
    ],
)
def test_invalid_specs_name_the_field(spec, path, fragment):
    errors = validate_model_spec(spec)
    assert path in errors, errors
    assert fragment in errors[path]


def test_tuple_arguments_are_checked_for_length_and_item_type():
    conv = {"l_type": "Conv2d", "structure": {"in_channels": 1, "out_channels": 2}}
    ok = dict(conv, structure=dict(conv["structure"], kernel_size=[3, 3], padding="same"))
    assert validate_model_spec([ok]) == {}
    too_long = dict(conv, structure=dict(conv["structure"], kernel_size=[3, 3, 3]))
    assert "model.0.structure.kernel_size" in validate_model_spec([too_long])
    floats = dict(conv, structure=dict(conv["structure"], kernel_size=[3.0, 3.0]))
    assert "model.0.structure.kernel_size" in validate_model_spec([floats])


def test_constructor_failures_are_reported_per_layer():
    spec = [{"l_type": "Conv2d",
             "structure": {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "groups": 2}}]
    errors = validate_model_spec(spec)
    assert "divisible by groups" in errors["model.0.structure"]


def test_parameter_cap_is_enforced_without_allocating():
    spec = [linear(structure={"in_features": 200_000, "out_features": 200_000})]
    errors = validate_model_spec(spec)  # 4e10 parameters would need 160 GB if allocated
    assert "more than the cap" in errors["model"]
    small = [linear(structure={"in_features": 10, "out_features": 10})]
    assert validate_model_spec(small, max_parameters=110) == {}
    assert "cap of 100" in validate_model_spec(small, max_parameters=100)["model"]


def test_build_model_rejects_invalid_spec_with_field_errors():
    with pytest.raises(SpecError) as caught:
        build_model([linear(activation="nope")])
    assert "model.0.activation" in caught.value.errors


def test_lstm_spec_builds_and_runs_forward():
    spec = [
        {"is_input": True, "l_type": "LSTM",
         "structure": {"input_size": 4, "hidden_size": 8, "batch_first": True}},
        {"is_input": False, "l_type": "Flatten", "structure": {}},
        {"is_input": False, "l_type": "Linear",
         "structure": {"in_features": 5 * 8, "out_features": 3}, "activation": "softmax"},
    ]
    assert validate_model_spec(spec) == {}
    model = build_model(spec, seed=0)
    out = model(torch.randn(2, 5, 4))
    assert out.shape == (2, 3)
    torch.testing.assert_close(out.sum(dim=1), torch.ones(2))


def test_gru_output_sequence_feeds_next_recurrent_layer():
    spec = [
        {"l_type": "GRU", "structure": {"input_size": 3, "hidden_size": 6, "batch_first": True}},
        {"l_type": "RNN", "structure": {"input_size": 6, "hidden_size": 2, "batch_first": True}},
    ]
    out = build_model(spec, seed=0)(torch.randn(4, 7, 3))
    assert out.shape == (4, 7, 2)


def test_image_spec_with_pooling_and_batchnorm():
    spec = [
        {"l_type": "Conv2d", "structure": {"in_channels": 1, "out_channels": 4,
                                           "kernel_size": 3, "padding": 1},
         "activation": "relu"},
        {"l_type": "BatchNorm2d", "structure": {"num_features": 4}},
        {"l_type": "MaxPool2d", "structure": {"kernel_size": 2}},
        {"l_type": "Flatten"},
        {"l_type": "Linear", "structure": {"in_features": 4 * 4 * 4, "out_features": 3},
         "activation": "log_softmax"},
    ]
    model = build_model(spec, seed=0)
    out = model(torch.randn(5, 1, 8, 8))
    torch.testing.assert_close(out.exp().sum(dim=1), torch.ones(5))
    assert "nnl_1_batchnorm2d.num_batches_tracked" in model.state_dict()


def test_same_seed_same_weights_and_global_rng_untouched():
    spec = [linear(structure={"in_features": 20, "out_features": 5})]
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = build_model(spec, seed=7).state_dict()
    assert torch.equal(torch.rand(1), expected_next)
    second = build_model(spec, seed=7).state_dict()
    third = build_model(spec, seed=8).state_dict()
    for name in first:
        assert torch.equal(first[name], second[name])
    assert not torch.equal(first["nnl_0_linear.weight"], third["nnl_0_linear.weight"])
    assert count_parameters(build_model(spec)) == 20 * 5 + 5
