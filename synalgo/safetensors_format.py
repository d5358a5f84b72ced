"""The safetensors format: an 8-byte little-endian header length, a JSON table of
`{name: {dtype, shape, data_offsets}}` (plus `__metadata__`), then the raw tensor bytes.

The writer emits the format from each tensor's own bytes (one copy into the output, or none
when written to a file), in the given order; `safetensors.torch.save` spends most of its time
on a small model in Python-side checks and copies a large one twice. `parse_table` checks the
framing of untrusted bytes and `tensor_views` returns tensors that share memory with the
buffer, so a reply is folded into a round without a second copy. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import torch

from synalgo.errors import CodecError

DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
DTYPE_NAMES: dict[torch.dtype, str] = {dtype: name for name, dtype in DTYPES.items()}
LENGTH_PREFIX = 8  # bytes of the little-endian header length
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
METADATA = "__metadata__"
_ALIGNMENT = 8  # the header is padded with spaces so the data starts 8-byte aligned


@dataclass(frozen=True)
class SafetensorsTable:
    """The parsed header of a safetensors buffer: tensor entries, string metadata, and where
    the tensor data starts."""

    entries: dict[str, Any]
    metadata: dict[str, Any]
    data_start: int


def safetensors_bytes(tensors: dict[str, torch.Tensor],
                      metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors serialisation of `tensors` (in their order) with string `metadata`."""
    return b"".join(_chunks(tensors, metadata))


def write_safetensors(handle: BinaryIO, tensors: dict[str, torch.Tensor],
                      metadata: dict[str, str] | None = None) -> None:
    """Write the safetensors serialisation of `tensors` to an open binary file."""
    for chunk in _chunks(tensors, metadata):
        handle.write(chunk)


def parse_table(buffer: bytes | bytearray) -> SafetensorsTable:
    """Check the framing of `buffer` and parse its header; raises `CodecError` when the
    length prefix, the JSON table or the metadata is malformed."""
    if len(buffer) < LENGTH_PREFIX:
        raise CodecError("payload is truncated: shorter than the 8-byte length prefix")
    (header_length,) = struct.unpack_from("<Q", buffer, 0)
    data_start = LENGTH_PREFIX + header_length
    if header_length > MAX_HEADER_BYTES or data_start > len(buffer):
        raise CodecError("payload is truncated or corrupt: bad header length")
    try:
        table = json.loads(bytes(buffer[LENGTH_PREFIX:data_start]))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CodecError(f"payload header is not valid JSON: {exc}") from exc
    if not isinstance(table, dict):
        raise CodecError("payload header is not a JSON object")
    metadata = table.pop(METADATA, None) or {}
    if not isinstance(metadata, dict):
        raise CodecError("payload metadata is not a JSON object")
    return SafetensorsTable(table, metadata, data_start)


def tensor_views(buffer: bytearray, table: SafetensorsTable) -> dict[str, torch.Tensor]:
    """The tensors of a parsed buffer as views into it, after checking every entry's dtype,
    shape and offsets against the buffer."""
    data_length = len(buffer) - table.data_start
    return {name: _view(buffer, table.data_start, data_length, name, entry)
            for name, entry in table.entries.items()}


def _view(buffer: bytearray, data_start: int, data_length: int, name: str,
          entry: Any) -> torch.Tensor:
    if not isinstance(entry, dict):
        raise CodecError(f"tensor {name!r}: entry is not an object")
    dtype = DTYPES.get(str(entry.get("dtype")))
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if dtype is None:
        raise CodecError(f"tensor {name!r}: unsupported dtype {entry.get('dtype')!r}")
    if not isinstance(shape, list) or not all(
            isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape):
        raise CodecError(f"tensor {name!r}: bad shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(value, int) and not isinstance(value, bool) for value in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_length):
        raise CodecError(f"tensor {name!r}: data offsets {offsets!r} are outside the payload")
    count = math.prod(shape)
    if offsets[1] - offsets[0] != count * dtype.itemsize:
        raise CodecError(f"tensor {name!r}: {offsets[1] - offsets[0]} bytes do not hold "
                         f"shape {shape} of {entry['dtype']}")
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    flat = torch.frombuffer(buffer, dtype=dtype, count=count, offset=data_start + offsets[0])
    return flat.reshape(shape)


def _chunks(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None
            ) -> Iterator[bytes | memoryview]:
    table: dict[str, object] = {}
    if metadata:
        if not all(isinstance(key, str) and isinstance(value, str)
                   for key, value in metadata.items()):
            raise CodecError("safetensors metadata must map strings to strings")
        table[METADATA] = metadata
    payloads: list[memoryview] = []
    offset = 0
    for name, tensor in tensors.items():
        dtype_name = DTYPE_NAMES.get(tensor.dtype)
        if dtype_name is None:
            raise CodecError(f"tensor {name!r}: dtype {tensor.dtype} cannot be sent; use one of "
                             f"{', '.join(sorted(DTYPES))}")
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        size = flat.numel() * flat.element_size()
        table[name] = {"dtype": dtype_name, "shape": list(tensor.shape),
                       "data_offsets": [offset, offset + size]}
        if size:
            payloads.append(flat.view(torch.uint8).numpy().data)
        offset += size
    header = json.dumps(table, separators=(",", ":")).encode()
    header += b" " * (-len(header) % _ALIGNMENT)
    yield struct.pack("<Q", len(header))
    yield header
    yield from payloads
