"""Writing the safetensors format: an 8-byte little-endian header length, a JSON table of
`{name: {dtype, shape, data_offsets}}` (plus `__metadata__`), then the raw tensor bytes.

Every round encodes the global weights once and saves a checkpoint, and every Worker encodes
its reply; `safetensors.torch.save` spends most of its time on a tiny model in Python-side
checks (shared storages, numpy conversions) and copies large ones twice. This writer emits the
same format from each tensor's own bytes (one copy into the output, or none when written to a
file), in the given order. Reading stays with the `safetensors` library and `payloads`.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import BinaryIO

import torch

from synalgo.errors import CodecError

DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
DTYPE_NAMES: dict[torch.dtype, str] = {dtype: name for name, dtype in DTYPES.items()}
_ALIGNMENT = 8  # the header is padded with spaces so the data starts 8-byte aligned


def safetensors_bytes(tensors: dict[str, torch.Tensor],
                      metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors serialisation of `tensors` (in their order) with string `metadata`."""
    return b"".join(_chunks(tensors, metadata))


def write_safetensors(handle: BinaryIO, tensors: dict[str, torch.Tensor],
                      metadata: dict[str, str] | None = None) -> None:
    """Write the safetensors serialisation of `tensors` to an open binary file."""
    for chunk in _chunks(tensors, metadata):
        handle.write(chunk)


def _chunks(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None
            ) -> Iterator[bytes | memoryview]:
    table: dict[str, object] = {}
    if metadata:
        if not all(isinstance(key, str) and isinstance(value, str)
                   for key, value in metadata.items()):
            raise CodecError("safetensors metadata must map strings to strings")
        table["__metadata__"] = metadata
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
