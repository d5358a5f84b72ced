"""The trial value read from Validation records: per-class mean, then the sample-weighted
mean over participants; a missing metric is a clear error."""

from __future__ import annotations

import pytest

from synergos_ttp.optimization.metrics import MetricUnavailable, extract_metric


def validation(pid: str, n: int | None, loss: float = 0.5, **statistics: object) -> dict:
    entry: dict = {"statistics": statistics, "loss": loss}
    if n is not None:
        entry["n_samples"] = n
    return {"key": {"participant_id": pid}, "evaluate": entry}


def test_per_class_lists_are_averaged_then_weighted_by_samples() -> None:
    records = [validation("a", 100, accuracy=[0.9, 0.9], f_score=[0.8, 0.6]),
               validation("b", 300, accuracy=[0.5, 0.5], f_score=[0.4, 0.2])]
    accuracy = extract_metric(records, "accuracy")
    assert accuracy.participants == {"a": 0.9, "b": 0.5}
    assert accuracy.value == pytest.approx((0.9 * 100 + 0.5 * 300) / 400)
    assert extract_metric(records, "f1_score").value == pytest.approx(
        (0.7 * 100 + 0.3 * 300) / 400)


def test_scalar_statistics_loss_and_plain_mean_without_counts() -> None:
    records = [validation("a", None, loss=0.2, R2=0.5, MSE=1.0),
               validation("b", 10, loss=0.4, R2=0.7, MSE=3.0)]
    assert extract_metric(records, "R2").value == pytest.approx(0.6)
    assert extract_metric(records, "mse").value == pytest.approx(2.0)
    assert extract_metric(records, "loss").value == pytest.approx(0.3)


def test_missing_metric_is_a_clear_error() -> None:
    records = [validation("a", 10, accuracy=[0.9, 0.9])]
    with pytest.raises(MetricUnavailable, match=r"'R2' is missing .* participant 'a'"):
        extract_metric(records, "R2")
    with pytest.raises(MetricUnavailable, match="no validation results"):
        extract_metric([], "accuracy")
    with pytest.raises(MetricUnavailable):
        extract_metric([validation("a", 10, accuracy=[float("nan")])], "accuracy")
