"""Every fit reply is checked against the round's global model before it is folded."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from synalgo.aggregation import WeightedMeanAccumulator
from synalgo.compression import compress_update
from synergos_ttp.engine.reply_checks import ReplyRejected, check_reply, reply_size_limit
from synergos_ttp.engine.rounds import RoundAggregation, RoundOutcome, carried_evaluation

GLOBAL = {"layer.weight": torch.zeros(2, 3), "layer.bias": torch.zeros(2),
          "bn.num_batches_tracked": torch.tensor(0)}
HEADER = {"n_samples": 10, "loss": 0.5}


def reply(**changes: torch.Tensor) -> dict[str, torch.Tensor]:
    tensors = {"layer.weight": torch.ones(2, 3), "layer.bias": torch.ones(2),
               "bn.num_batches_tracked": torch.tensor(5)}
    tensors.update(changes)
    return tensors


def test_a_reply_that_fits_the_model_gives_its_sample_count() -> None:
    assert check_reply("w", reply(), HEADER, GLOBAL, 10) == 10


@pytest.mark.parametrize(("tensors", "header", "reason"), [
    (reply(**{"layer.weight": torch.full((2, 3), math.nan)}), HEADER, "non-finite"),
    (reply(**{"layer.bias": torch.tensor([1.0, math.inf])}), HEADER, "non-finite"),
    (reply(**{"layer.weight": torch.ones(3, 2)}), HEADER, "shape [3, 2]"),
    (reply(**{"layer.weight": torch.ones(2, 3, dtype=torch.int64)}), HEADER, "int64"),
    (reply(**{"layer.weight": torch.ones(2, 3, dtype=torch.float16)}), HEADER, "float16"),
    (reply(**{"extra": torch.ones(1)}), HEADER, "unknown tensor(s) 'extra'"),
    ({"layer.weight": torch.ones(2, 3)}, HEADER, "lacks tensor(s)"),
    (reply(), {"n_samples": 10**15, "loss": 0.5}, "exceeds the 100 training rows"),
    (reply(), {"n_samples": 0, "loss": 0.5}, "not a positive integer"),
    (reply(), {"n_samples": True, "loss": 0.5}, "not a positive integer"),
    (reply(), {"n_samples": 10, "loss": math.nan}, "loss"),
])
def test_a_reply_that_does_not_fit_is_rejected_with_the_reason(tensors, header, reason) -> None:
    with pytest.raises(ReplyRejected) as rejected:
        check_reply("mallory", tensors, header, GLOBAL, 100)
    assert rejected.value.participant_id == "mallory" and rejected.value.kind == "rejected"
    assert reason in str(rejected.value), str(rejected.value)


def test_the_size_limit_covers_the_model_and_a_header_allowance() -> None:
    from synalgo.codec import encode
    honest = encode(reply(), {**HEADER, "loss_history": [0.5] * 10_000})
    assert len(honest) <= reply_size_limit(GLOBAL)
    assert reply_size_limit(GLOBAL) < 2 * 1024 * 1024


def test_a_wrong_shaped_reply_arriving_first_does_not_get_the_honest_ones_rejected() -> None:
    aggregation = RoundAggregation(WeightedMeanAccumulator(), GLOBAL, {"a": 50, "b": 50},
                                   clip=None)
    with aggregation.gate, pytest.raises(ReplyRejected):
        aggregation.fold("mallory", reply(**{"layer.weight": torch.ones(3, 2)}), HEADER, 0.0)
    with aggregation.gate:
        aggregation.fold("a", reply(), HEADER, 0.0)
        aggregation.fold("b", reply(), HEADER, 0.0)
    aggregation.close()
    assert set(aggregation.reports) == {"a", "b"}
    result = aggregation.aggregator.result(like=GLOBAL)
    assert torch.equal(result["layer.weight"], torch.ones(2, 3))


def test_huge_but_finite_values_are_not_mistaken_for_non_finite_ones() -> None:
    big = reply(**{"layer.weight": torch.full((2, 3), 3e38)})  # their float32 sum overflows
    assert check_reply("w", big, HEADER, GLOBAL, 10) == 10


@pytest.mark.parametrize(("entry", "reason"), [
    ("0.3", "evaluate '0.3' is not an object"),
    ({"loss": math.nan, "n_samples": 5}, "evaluate loss nan is not a finite number"),
    ({"loss": 0.3, "n_samples": 0}, "evaluate n_samples 0 is not a positive integer"),
    ({"loss": 0.3, "n_samples": True}, "evaluate n_samples True is not a positive integer"),
])
def test_a_malformed_carried_evaluation_rejects_the_reply_before_it_is_folded(
        entry: object, reason: str) -> None:
    aggregation = RoundAggregation(WeightedMeanAccumulator(), GLOBAL, {"w": 10})
    with aggregation.gate, pytest.raises(ReplyRejected, match=reason):
        aggregation.fold("w", reply(), {**HEADER, "evaluate": entry}, 0.0)
    assert aggregation.reports == {} and aggregation.evaluations == {}


def test_a_carried_evaluation_is_kept_beside_the_report() -> None:
    aggregation = RoundAggregation(WeightedMeanAccumulator(), GLOBAL, {"w": 10})
    with aggregation.gate:
        aggregation.fold("w", reply(), {**HEADER, "evaluate": {"loss": 0.25, "n_samples": 4}},
                         0.0)
    assert aggregation.evaluations == {"w": (0.25, 4)}
    assert aggregation.reports["w"]["status"] == "ok"


def test_carried_evaluations_are_weighted_and_bounded_by_the_reported_evaluate_rows() -> None:
    outcome = RoundOutcome({}, {"a": {"status": "ok"}, "b": {"status": "ok"},
                                "c": {"status": "ok"},
                                "d": {"status": "timeout", "error": "no reply in time"}},
                           None, 0.0, evaluations={"a": (1.0, 10), "b": (4.0, 30),
                                                   "c": (9.0, 500)})
    loss, errors = carried_evaluation(outcome, {"a": 10, "b": 30, "c": 50, "d": 5, "e": 5})
    assert loss == pytest.approx((1.0 * 10 + 4.0 * 30) / 40)
    assert errors == {"c": "its evaluation claims 500 rows, it reported 50 evaluate rows",
                      "d": "no reply in time", "e": "no reply"}


def test_an_int8_reply_is_expanded_against_the_received_model_before_it_is_checked() -> None:
    aggregation = RoundAggregation(WeightedMeanAccumulator(), GLOBAL, {"w": 10},
                                   compression="int8")
    tensors, entry = compress_update(reply(), GLOBAL, "int8", {})
    with aggregation.gate:
        aggregation.fold("w", tensors, {**HEADER, "compression": entry}, 0.0)
    folded = aggregation.aggregator.result(like=GLOBAL)
    assert torch.allclose(folded["layer.weight"], torch.ones(2, 3), atol=1e-2)
    plain = RoundAggregation(WeightedMeanAccumulator(), GLOBAL, {"w": 10})
    with plain.gate, pytest.raises(ReplyRejected, match="update_compression is 'none'"):
        plain.fold("w", tensors, {**HEADER, "compression": entry}, 0.0)
    with aggregation.gate, pytest.raises(ReplyRejected, match="int8 updates travel as int8"):
        aggregation.fold("v", reply(), {**HEADER, "compression": entry}, 0.0)


def test_replies_are_checked_and_measured_while_another_is_being_folded() -> None:
    aggregation = RoundAggregation(WeightedMeanAccumulator(), GLOBAL, {"a": 50, "m": 50},
                                   clip="auto")
    results: dict[str, object] = {}

    def check_both() -> None:
        results["a"] = aggregation.check("a", reply(), HEADER)
        try:
            aggregation.check("m", reply(**{"layer.bias": torch.full((2,), math.nan)}), HEADER)
        except ReplyRejected as error:
            results["m"] = error

    with aggregation.gate:  # a fold in progress
        checker = threading.Thread(target=check_both)
        checker.start()
        checker.join(timeout=10)
        assert not checker.is_alive(), "check waited for the fold lock"
    assert results["a"].n_samples == 10
    assert results["a"].norm == pytest.approx(math.sqrt(8))  # 6 + 2 ones; the int entry not
    assert "non-finite" in str(results["m"])


def test_a_fold_uses_the_norm_its_check_measured() -> None:
    aggregation = RoundAggregation(WeightedMeanAccumulator(), GLOBAL, {"a": 50}, clip=1.0)
    checked = aggregation.check("a", reply(), HEADER)
    with aggregation.gate:
        aggregation.fold("a", reply(), HEADER, 0.0, checked)
    aggregation.close()
    assert aggregation.reports["a"]["update_norm"] == pytest.approx(math.sqrt(8), abs=1e-6)
    assert aggregation.reports["a"]["clipped"] is True
def test_under_central_dp_an_int8_reply_is_expanded_then_clipped_to_c() -> None:
    from synalgo.privacy.central_dp import CentralPrivacy
    privacy = CentralPrivacy({"mode": "central", "noise_multiplier": 0.0, "clip": 0.5,
                              "delta": 1e-5}, normal=lambda count: torch.zeros(count).numpy())
    aggregation = RoundAggregation(privacy.start_round(WeightedMeanAccumulator(), GLOBAL),
                                   GLOBAL, {"w": 10}, None, compression="int8")
    tensors, entry = compress_update(reply(), GLOBAL, "int8", {})
    with aggregation.gate:
        aggregation.fold("w", tensors, {**HEADER, "compression": entry}, 0.0)
    folded = aggregation.aggregator.result(like=GLOBAL)
    floats = torch.cat([folded["layer.weight"].flatten(), folded["layer.bias"].flatten()])
    assert float(floats.norm()) == pytest.approx(0.5, rel=1e-3)  # the update of norm ~2.83
    assert torch.allclose(floats, torch.full((8,), 0.5 / math.sqrt(8)), atol=1e-2)
