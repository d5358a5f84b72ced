"""Reading Worker replies in the `synalgo.codec` format without copying the tensors.

`read_body(raw, length)` fills one preallocated buffer from a stream; `decode_views(buffer)`
parses the safetensors framing (checking every offset, dtype and shape) and returns tensors
that are views into that buffer plus the JSON header. Folding those views into the round's
accumulator keeps the TTP at one in-flight reply: no second copy per Worker. Nothing is
unpickled; malformed bytes raise `CodecError`.
"""

from __future__ import annotations

import io
import json
import math
import struct
from typing import Any

import torch

from synalgo.codec import HEADER_KEY, ORDER_KEY
from synalgo.errors import CodecError
from synalgo.safetensors_format import DTYPES

_PREFIX = 8
_MAX_HEADER_BYTES = 100 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


def read_body(raw: io.BufferedIOBase, length: int | None, max_bytes: int) -> bytearray:
    """Read a whole reply body into one buffer (exactly `length` bytes when it is known)."""
    if length is not None:
        if length > max_bytes:
            raise CodecError(f"reply of {length} bytes exceeds the limit of {max_bytes}")
        buffer = bytearray(length)
        view, filled = memoryview(buffer), 0
        while filled < length:
            count = raw.readinto(view[filled:])
            if not count:
                raise CodecError(f"reply truncated: the body ended after {filled} of "
                                 f"{length} bytes")
            filled += count
        return buffer
    buffer = bytearray()
    while chunk := raw.read(_READ_CHUNK):
        buffer += chunk
        if len(buffer) > max_bytes:
            raise CodecError(f"reply exceeds the limit of {max_bytes} bytes")
    return buffer


def decode_views(buffer: bytearray) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """`(tensors, header)` of a codec payload; the tensors share memory with `buffer`."""
    if len(buffer) < _PREFIX:
        raise CodecError("payload is truncated: shorter than the 8-byte length prefix")
    (header_length,) = struct.unpack_from("<Q", buffer, 0)
    data_start = _PREFIX + header_length
    if header_length > _MAX_HEADER_BYTES or data_start > len(buffer):
        raise CodecError("payload is truncated or corrupt: bad header length")
    try:
        table = json.loads(bytes(buffer[_PREFIX:data_start]))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CodecError(f"payload header is not valid JSON: {exc}") from exc
    if not isinstance(table, dict):
        raise CodecError("payload header is not a JSON object")
    metadata = table.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise CodecError("payload metadata is not a JSON object")
    data_length = len(buffer) - data_start
    tensors = {name: _view(buffer, data_start, data_length, name, entry)
               for name, entry in table.items()}
    return _ordered(tensors, metadata.get(ORDER_KEY)), _header(metadata.get(HEADER_KEY, "{}"))


def _view(buffer: bytearray, data_start: int, data_length: int, name: str,
          entry: Any) -> torch.Tensor:
    if not isinstance(entry, dict):
        raise CodecError(f"tensor {name!r}: entry is not an object")
    dtype_name = entry.get("dtype")
    dtype = DTYPES.get(dtype_name) if isinstance(dtype_name, str) else None
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if dtype is None:
        raise CodecError(f"tensor {name!r}: unsupported dtype {dtype_name!r}")
    if not isinstance(shape, list) or not all(
            isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape):
        raise CodecError(f"tensor {name!r}: bad shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(value, int) and not isinstance(value, bool) for value in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_length):
        raise CodecError(f"tensor {name!r}: data offsets {offsets!r} are outside the payload")
    count = math.prod(shape)
    itemsize = dtype.itemsize
    if offsets[1] - offsets[0] != count * itemsize:
        raise CodecError(f"tensor {name!r}: {offsets[1] - offsets[0]} bytes do not hold "
                         f"shape {shape} of {entry['dtype']}")
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    flat = torch.frombuffer(buffer, dtype=dtype, count=count, offset=data_start + offsets[0])
    return flat.reshape(shape)


def _ordered(tensors: dict[str, torch.Tensor], order_text: Any) -> dict[str, torch.Tensor]:
    try:
        order = json.loads(order_text) if isinstance(order_text, str) else None
    except ValueError:
        order = None
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(tensors):
        return tensors
    return {name: tensors[name] for name in order}


def _header(text: Any) -> dict[str, Any]:
    try:
        header = json.loads(text) if isinstance(text, str) else None
    except ValueError as exc:
        raise CodecError(f"header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise CodecError("header must be a JSON object")
    return header
