"""Mask vectors modulo 2^32 from ChaCha20 keystreams, and the pairwise-mask signs."""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

NONCE = bytes(16)  # each seed is used for exactly one keystream


def keystream(seed: bytes, length: int) -> np.ndarray:
    """`length` uint32 words of the ChaCha20 keystream of the 32-byte `seed` (read-only: a
    view of the cipher's output, copied only on a big-endian machine)."""
    encryptor = Cipher(algorithms.ChaCha20(seed, NONCE), mode=None).encryptor()
    words = np.frombuffer(encryptor.update(bytes(4 * length)), dtype="<u4")
    return words.astype(np.uint32, copy=False)


def pairwise_sign(own: str, peer: str) -> int:
    """+1 when `own` adds the pair's mask, -1 when it subtracts it (they cancel in the sum)."""
    return 1 if own < peer else -1


def apply(vector: np.ndarray, mask: np.ndarray, sign: int) -> np.ndarray:
    """`vector + sign * mask` modulo 2^32, in place."""
    if sign > 0:
        np.add(vector, mask, out=vector)
    else:
        np.subtract(vector, mask, out=vector)
    return vector
