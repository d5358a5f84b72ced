"""The safetensors wire codec."""

from __future__ import annotations

import pickle
import struct

import pytest
import torch

from synalgo.codec import decode, encode
from synalgo.errors import CodecError


def sample_tensors() -> dict[str, torch.Tensor]:
    return {
        "layer.weight": torch.randn(3, 4),
        "layer.bias": torch.randn(4, dtype=torch.float64),
        "bn.num_batches_tracked": torch.tensor(17),
        "scalar": torch.tensor(2.5),
        "mask": torch.tensor([True, False, True]),
        "labels": torch.arange(5, dtype=torch.int32),
        "transposed": torch.arange(6.0).reshape(2, 3).t(),
    }


def test_round_trip_preserves_values_dtypes_shapes_order_and_header():
    tensors = sample_tensors()
    header = {"round": 3, "participant_id": "p1", "losses": [0.5, 0.25], "nested": {"a": None}}
    decoded, decoded_header = decode(encode(tensors, header))
    assert list(decoded) == list(tensors)
    for name, tensor in tensors.items():
        assert decoded[name].dtype == tensor.dtype
        assert decoded[name].shape == tensor.shape
        assert torch.equal(decoded[name], tensor)
    assert decoded["scalar"].dim() == 0
    assert decoded_header == header


def test_empty_payload_and_missing_header():
    assert decode(encode({})) == ({}, {})


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"short",
        b"this is certainly not safetensors",
        struct.pack("<Q", 2**62) + b"{}",
        struct.pack("<Q", 4) + b"[1,2",
        struct.pack("<Q", 2) + b"[]",
        pickle.dumps({"weight": [1.0, 2.0]}),
    ],
)
def test_garbage_is_rejected_with_codec_error(blob):
    with pytest.raises(CodecError):
        decode(blob)


def test_truncated_payload_is_rejected():
    blob = encode(sample_tensors(), {"k": 1})
    for cut in (len(blob) - 1, len(blob) // 2, 9):
        with pytest.raises(CodecError):
            decode(blob[:cut])


def test_size_limit():
    blob = encode({"w": torch.zeros(100)})
    assert decode(blob, max_bytes=len(blob))[0]["w"].shape == (100,)
    with pytest.raises(CodecError, match="exceeds the limit"):
        decode(blob, max_bytes=len(blob) - 1)


@pytest.mark.parametrize(
    ("tensors", "header"),
    [
        ({"w": [1.0, 2.0]}, None),
        ({1: torch.zeros(1)}, None),
        ({"w": torch.zeros(1)}, {"bad": object()}),
        ({"w": torch.zeros(1)}, {"nan": float("nan")}),
        ({"w": torch.zeros(1)}, ["not", "a", "dict"]),
    ],
)
def test_unencodable_input_is_rejected(tensors, header):
    with pytest.raises(CodecError):
        encode(tensors, header)


def test_shared_storage_tensors_encode():
    base = torch.arange(10.0)
    decoded, _ = decode(encode({"a": base, "view": base[2:5]}))
    assert torch.equal(decoded["view"], torch.tensor([2.0, 3.0, 4.0]))


def test_tied_weights_and_offset_views_encode_without_touching_the_originals():
    weight = torch.randn(4, 3)
    flat = torch.arange(12.0)
    tensors = {"encoder": weight, "decoder": weight, "tail": flat[6:], "head": flat[:6],
               "transposed": weight.t(), "scalar": torch.tensor(7)}
    decoded, _ = decode(encode(tensors))
    for name, tensor in tensors.items():
        assert torch.equal(decoded[name], tensor), name
    decoded["encoder"].add_(1.0)
    assert not torch.equal(decoded["encoder"], weight), "decoded tensors must not alias inputs"


def every_dtype() -> dict[str, torch.Tensor]:
    """One tensor of each supported dtype, with a 0-d, an empty and a non-contiguous one."""
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    return {"f64": base, "f32": base.float().t(), "f16": base.half(), "bf16": base.bfloat16(),
            "i64": torch.tensor(7), "i32": base.int(), "i16": base.short(), "i8": base.char(),
            "u8": base.byte(), "bool": base > 5, "empty": torch.zeros(0, 3)}


def test_the_writer_emits_what_the_safetensors_library_reads(tmp_path) -> None:
    from safetensors import safe_open
    from safetensors.torch import load, load_file

    from synalgo.safetensors_format import safetensors_bytes, write_safetensors

    tensors = every_dtype()
    blob = safetensors_bytes(tensors, {"note": "hello"})
    (length,) = struct.unpack_from("<Q", blob)
    assert (8 + length) % 8 == 0  # the data starts aligned, as the library writes it
    path = tmp_path / "all.safetensors"
    with open(path, "wb") as handle:
        write_safetensors(handle, tensors, {"note": "hello"})
    assert path.read_bytes() == blob
    for loaded in (load(blob), load_file(str(path))):
        assert set(loaded) == set(tensors)
        for name, tensor in tensors.items():
            assert loaded[name].dtype == tensor.dtype and torch.equal(loaded[name], tensor)
    with safe_open(str(path), framework="pt") as handle:
        assert handle.metadata() == {"note": "hello"}


def test_the_writer_refuses_what_it_cannot_describe() -> None:
    from synalgo.safetensors_format import safetensors_bytes

    with pytest.raises(CodecError, match="dtype"):
        safetensors_bytes({"c": torch.zeros(2, dtype=torch.complex64)})
    with pytest.raises(CodecError, match="metadata"):
        safetensors_bytes({"x": torch.zeros(1)}, {"n": 1})
