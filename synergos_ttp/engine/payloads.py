"""Reading Worker replies in the `synalgo.codec` format without copying the tensors.

`read_body(raw, length)` fills one preallocated buffer from a stream;
`synalgo.codec.decode_views(buffer)` turns it into tensors that are views into that buffer
plus the JSON header. Folding those views into the round's accumulator keeps the TTP at one
in-flight reply: no second copy per Worker. Malformed bytes raise `CodecError`.
"""

from __future__ import annotations

import io

from synalgo.codec import decode_views
from synalgo.errors import CodecError

__all__ = ["decode_views", "read_body"]

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
