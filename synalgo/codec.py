"""Wire format for weights and tensors: safetensors bytes with a JSON header in the metadata.

`encode(tensors, header)` -> bytes; `decode(blob)` -> `(tensors, header)`; `decode_views(buffer)`
the same with tensors that share memory with `buffer`. The header is any
JSON object, stored as the safetensors metadata entry `{"header": "<json>"}` (next to
`{"order": [names]}`, which restores the tensors' insertion order). Nothing is ever unpickled;
malformed, truncated or oversized input raises `CodecError`.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from safetensors.torch import load as safetensors_load

from synalgo.errors import CodecError
from synalgo.safetensors_format import parse_table, safetensors_bytes, tensor_views

HEADER_KEY = "header"
ORDER_KEY = "order"  # the tensors' names in insertion order (safetensors sorts them)


def encode(tensors: dict[str, torch.Tensor], header: dict[str, Any] | None = None) -> bytes:
    """Serialise named tensors (any dtype, 0-d included) and a JSON-object header."""
    if not isinstance(tensors, dict):
        raise CodecError("tensors must be a dict of name -> torch.Tensor")
    for name, tensor in tensors.items():
        if not isinstance(name, str):
            raise CodecError(f"tensor names must be strings, got {type(name).__name__}")
        if not isinstance(tensor, torch.Tensor):
            raise CodecError(f"{name!r} is a {type(tensor).__name__}, not a torch.Tensor")
    if header is not None and not isinstance(header, dict):
        raise CodecError("header must be a JSON object (dict)")
    try:
        header_text = json.dumps({} if header is None else header, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"header is not JSON-serialisable: {exc}") from exc
    metadata = {HEADER_KEY: header_text, ORDER_KEY: json.dumps(list(tensors))}
    return safetensors_bytes(tensors, metadata)


def decode(
    blob: bytes | bytearray | memoryview, max_bytes: int | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Parse bytes made by `encode`; raises `CodecError` on anything else."""
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise CodecError(f"expected bytes, got {type(blob).__name__}")
    blob = bytes(blob)
    if max_bytes is not None and len(blob) > max_bytes:
        raise CodecError(f"payload of {len(blob)} bytes exceeds the limit of {max_bytes}")
    metadata = parse_table(blob).metadata
    try:
        tensors = safetensors_load(blob)
    except Exception as exc:  # the library raises several exception types
        raise CodecError(f"not a valid tensor payload: {exc}") from exc
    return _in_original_order(tensors, metadata.get(ORDER_KEY)), _header(metadata)


def decode_views(buffer: bytearray) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Like `decode`, but the tensors are views into `buffer` (no copy of the weights)."""
    table = parse_table(buffer)
    tensors = tensor_views(buffer, table)
    return _in_original_order(tensors, table.metadata.get(ORDER_KEY)), _header(table.metadata)


def _in_original_order(
    tensors: dict[str, torch.Tensor], order_text: Any
) -> dict[str, torch.Tensor]:
    try:
        order = json.loads(order_text) if isinstance(order_text, str) else None
    except ValueError:
        order = None
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(tensors):
        return tensors
    return {name: tensors[name] for name in order}


def _header(metadata: dict[str, Any]) -> dict[str, Any]:
    text = metadata.get(HEADER_KEY, "{}")
    try:
        header = json.loads(text) if isinstance(text, str) else None
    except ValueError as exc:
        raise CodecError(f"header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise CodecError("header must be a JSON object")
    return header
