"""Pure-logic parts of the engine: reply decoding, checkpoints, alignment planning and the
feature-drift guard, MLflow metric naming."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest
import torch

from synalgo.codec import encode
from synalgo.errors import CodecError
from synarchive import Archive
from synergos_ttp.engine.alignment import AlignmentPlan, check_feature_drift, plan_alignment
from synergos_ttp.engine.checkpoints import (
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
)
from synergos_ttp.engine.contribution_record import apply_incentives
from synergos_ttp.engine.errors import EngineError, FeatureDriftError
from synergos_ttp.engine.payloads import decode_views, read_body
from synergos_ttp.tracking import metric_items, round_metrics


def tensors() -> dict[str, torch.Tensor]:
    """A state with every kind of entry: float32/64, 0-d int, bool, empty."""
    return {"layer.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
            "layer.bias": torch.tensor([0.5, -1.5], dtype=torch.float64),
            "count": torch.tensor(7), "flags": torch.tensor([True, False]),
            "empty": torch.zeros(0, 4)}


def test_replies_decode_as_views_of_one_buffer() -> None:
    blob = encode(tensors(), {"n_samples": 3, "loss": 0.25})
    buffer = read_body(io.BytesIO(blob), len(blob), 1 << 20)
    decoded, header = decode_views(buffer)
    assert header == {"n_samples": 3, "loss": 0.25}
    assert list(decoded) == list(tensors())
    for name, tensor in tensors().items():
        assert torch.equal(decoded[name], tensor) and decoded[name].dtype == tensor.dtype
    start = buffer.index(struct.pack("<f", 5.0))  # the weight's last element, in place
    buffer[start:start + 4] = struct.pack("<f", 42.0)
    assert float(decoded["layer.weight"][1, 2]) == 42.0


def corrupt(blob: bytes, change: dict) -> bytes:
    """`blob` with the safetensors entry of `layer.weight` changed."""
    (length,) = struct.unpack_from("<Q", blob)
    table = json.loads(blob[8:8 + length])
    table["layer.weight"].update(change)
    text = json.dumps(table).encode()
    return struct.pack("<Q", len(text)) + text + blob[8 + length:]


@pytest.mark.parametrize(("make", "fragment"), [
    (lambda blob: blob[:5], "truncated"),
    (lambda blob: struct.pack("<Q", 10**9) + blob[8:], "bad header length"),
    (lambda blob: corrupt(blob, {"dtype": "F8_E5M2X"}), "unsupported dtype"),
    (lambda blob: corrupt(blob, {"data_offsets": [0, 10**6]}), "outside the payload"),
    (lambda blob: corrupt(blob, {"shape": [3, 3]}), "do not hold"),
    (lambda blob: corrupt(blob, {"shape": [-1, 6]}), "bad shape"),
])
def test_malformed_replies_are_refused(make, fragment) -> None:
    blob = bytearray(make(encode(tensors(), {})))
    with pytest.raises(CodecError, match=fragment):
        decode_views(blob)


def test_a_short_reply_is_reported_truncated() -> None:
    with pytest.raises(CodecError, match="truncated: the body ended after 3 of 10"):
        read_body(io.BytesIO(b"abc"), 10, 100)
    with pytest.raises(CodecError, match="exceeds the limit"):
        read_body(io.BytesIO(b"abc"), 10, 5)


def test_checkpoints_round_trip_weights_server_state_and_history(tmp_path: Path) -> None:
    history = {"round": 3, "train": {"1": 0.7}, "rounds": [{"round": 1}]}
    server = {"momentum.layer.weight": torch.ones(2, 3, dtype=torch.float64)}
    path = save_checkpoint(tmp_path / "c" / "round_3.safetensors", tensors(), server, history)
    state, server_state, document = load_checkpoint(path)
    assert document == history and set(server_state) == set(server)
    assert all(torch.equal(state[name], tensor) for name, tensor in tensors().items())
    assert not list((tmp_path / "c").glob(".*tmp"))  # written atomically
    weights = save_weights(tmp_path / "w.safetensors", tensors())
    assert set(load_weights(weights)) == set(tensors())
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 12)
    with pytest.raises(EngineError):
        load_checkpoint(tmp_path / "bad.safetensors")


def summary(x: list[str], y: list[str], values: dict[str, tuple[float, float, int]]) -> dict:
    """A Worker's per-meta poll summary; `values` maps column -> (sum, sum_sq, count)."""
    return {"headers": {"X": x, "y": y}, "categorical": [c for c in x if c.startswith("cat_")],
            "summary": {c: {"count": n, "sum": s, "sum_sq": q, "min": 0, "max": 1}
                        for c, (s, q, n) in values.items()}}


def test_the_plan_aligns_on_the_sorted_union_with_pooled_scaling() -> None:
    plan = plan_alignment({
        "a": {"train": summary(["x1", "x2"], ["y_0", "y_1"],
                               {"x1": (2.0, 4.0, 2), "x2": (4.0, 10.0, 2)})},
        "b": {"train": summary(["cat_k", "x2"], ["y_1"], {"x2": (6.0, 18.0, 2)}),
              "evaluate": summary(["x2"], ["y_1"], {})},
    })
    assert plan.superset == {"X": ["cat_k", "x1", "x2"], "y": ["y_0", "y_1"]}
    assert plan.spacers["a"]["train"] == {"X": [0], "y": []}
    assert plan.spacers["b"]["evaluate"] == {"X": [0, 1], "y": [0]}
    assert plan.scaling["columns"] == ["cat_k", "x1", "x2"]
    assert plan.scaling["shift"] == [0.0, 1.0, 2.5]  # x2 pooled over a and b: 10 / 4
    assert plan.scaling["scale"][1:] == [1.0, pytest.approx((28 / 4 - 2.5**2) ** 0.5)]
    with pytest.raises(EngineError, match="same columns"):
        plan_alignment({"a": {"train": summary(["x1"], ["y"], {})},
                        "b": {"train": summary(["x2"], ["y"], {})}}, auto_align=False)


def test_the_drift_guard_protects_other_participants_only() -> None:
    stored = {"a": {"superset": {"X": ["x1", "x2"], "y": ["y"]}, "train": {"X": [], "y": []}},
              "b": {"superset": {"X": ["x1", "x2"], "y": ["y"]},
                    "train": {"X": [0], "y": []}}}
    same = AlignmentPlan({"X": ["x1", "x2"], "y": ["y"]},
                         {"a": {"train": {"X": [], "y": []}, "predict": {"X": [1], "y": []}},
                          "b": {"train": {"X": [0], "y": []}}}, {})
    check_feature_drift(stored, same, requester="a")
    grown = AlignmentPlan({"X": ["x1", "x2", "x3"], "y": ["y"]},
                          {"a": {"train": {"X": [2], "y": []}},
                           "b": {"train": {"X": [0, 2], "y": []}}}, {})
    with pytest.raises(FeatureDriftError, match=r"'a'.*b \(aligned columns changed\)"):
        check_feature_drift(stored, grown, requester="a")


def test_metric_names_follow_the_tracking_contract() -> None:
    statistics = {"accuracy": [0.5, 1.0], "R2": 0.25, "flag": True, "bad": float("nan")}
    assert dict(metric_items("p1", statistics)) == {
        "p1_accuracy_class_0": 0.5, "p1_accuracy_class_1": 1.0, "p1_R2": 0.25}
    assert round_metrics(0.5, None, {"p1": 0.4}) == {"global_train_loss": 0.5,
                                                     "p1_local_loss": 0.4}


class RecordingClient:
    """Stands in for a `WorkerClient`: records the evaluate body, answers a fixed loss."""

    def __init__(self, participant_id: str, loss: float, n_samples: int) -> None:
        self.participant_id = participant_id
        self.answer = {"evaluate": {"loss": loss, "n_samples": n_samples}}
        self.bodies: list[bytes] = []

    def evaluate(self, route: str, body: bytes, deadline: float) -> dict:
        self.bodies.append(body)
        return self.answer


def test_the_per_round_evaluation_asks_for_the_loss_only() -> None:
    from synalgo.codec import decode
    from synergos_ttp.engine.rounds import evaluate_global

    clients = [RecordingClient("a", 1.0, 10), RecordingClient("b", 4.0, 30)]
    loss, errors = evaluate_global(clients, "p/e/r", tensors(), timeout=5)
    assert loss == pytest.approx((1.0 * 10 + 4.0 * 30) / 40) and errors == {}
    _, header = decode(clients[0].bodies[0])
    assert header == {"metas": ["evaluate"], "statistics": False}


def test_incentives_for_a_deleted_project_name_it(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "database.json")
    try:
        with pytest.raises(EngineError, match="project 'gone' does not exist"):
            apply_incentives(archive, "gone", {"tier_1": ["p1"]})
    finally:
        archive.close()
