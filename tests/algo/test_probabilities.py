"""Class probabilities from raw outputs, whatever the model's last activation."""

from __future__ import annotations

import pytest
import torch

from synalgo.errors import AlgoError
from synalgo.probabilities import (
    LOG_PROBABILITIES,
    LOGITS,
    PROBABILITIES,
    class_probabilities,
    output_kind,
)


def linear(activation: str | None, units: int = 3) -> dict:
    return {"is_input": True, "l_type": "Linear", "activation": activation,
            "structure": {"in_features": 4, "out_features": units}}


@pytest.mark.parametrize(("spec", "kind"), [
    ([linear("softmax")], PROBABILITIES),
    ([linear("sigmoid", 1)], PROBABILITIES),
    ([linear("log_softmax")], LOG_PROBABILITIES),
    ([linear(None)], LOGITS),
    ([linear("relu")], LOGITS),
    ([linear(None), {"l_type": "LogSoftmax", "structure": {"dim": 1}}], LOG_PROBABILITIES),
    ([linear(None), {"l_type": "Softmax", "structure": {"dim": 1}},
      {"l_type": "Dropout", "structure": {}}], PROBABILITIES),
])
def test_output_kind_follows_the_last_activation(spec: list, kind: str) -> None:
    assert output_kind(spec) == kind


def test_every_kind_gives_the_same_probabilities() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [-3.0, 4.0, 1.0]])
    expected = torch.softmax(logits.double(), dim=1)
    for outputs, kind in ((logits, LOGITS), (torch.softmax(logits, 1), PROBABILITIES),
                          (torch.log_softmax(logits, 1), LOG_PROBABILITIES)):
        probabilities = class_probabilities(outputs, kind, 3)
        torch.testing.assert_close(probabilities, expected, atol=1e-6, rtol=0)
        assert torch.allclose(probabilities.sum(1), torch.ones(3, dtype=torch.float64))


def test_one_unit_is_the_second_class_of_two() -> None:
    logit = torch.tensor([[0.0], [2.0], [-2.0]])
    from_logits = class_probabilities(logit, LOGITS, 2)
    from_sigmoid = class_probabilities(torch.sigmoid(logit), PROBABILITIES, 2)
    torch.testing.assert_close(from_logits, from_sigmoid)
    assert from_logits[0].tolist() == [0.5, 0.5]
    assert torch.allclose(from_logits.sum(1), torch.ones(3, dtype=torch.float64))


def test_outputs_that_do_not_fit_the_labels_are_refused() -> None:
    with pytest.raises(AlgoError, match="2 output units for 3 classes"):
        class_probabilities(torch.zeros(4, 2), LOGITS, 3)
    with pytest.raises(AlgoError, match="one output unit cannot score 3"):
        class_probabilities(torch.zeros(4, 1), LOGITS, 3)
