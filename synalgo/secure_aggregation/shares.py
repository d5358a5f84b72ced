"""Shamir shares of 32-byte secrets and their AES-GCM encryption to one peer.

pycryptodome's Shamir scheme shares 16-byte secrets over GF(2^128); a 32-byte secret is
shared as two halves under the same indices, so one share is 32 bytes. Combining
interpolates at zero with Lagrange coefficients that depend only on the shares' indices:
they are computed once per set of indices (the TTP combines 2N secrets from the same
helpers each round) in the library's field arithmetic.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

from Crypto.Protocol.SecretSharing import Shamir, _Element
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from synalgo.secure_aggregation.errors import SecAggError
from synalgo.secure_aggregation.keys import decode_bytes, encode_bytes

SECRET_BYTES = 32
HALF = SECRET_BYTES // 2
NONCE_BYTES = 12


def split(secret: bytes, threshold: int, n_shares: int) -> list[tuple[int, bytes]]:
    """`n_shares` shares `(index, 32 bytes)`, indices 1..n, any `threshold` of which
    reconstruct `secret`; fewer reveal nothing about it."""
    if len(secret) != SECRET_BYTES:
        raise SecAggError(f"a shared secret has {SECRET_BYTES} bytes, not {len(secret)}")
    low = Shamir.split(threshold, n_shares, secret[:HALF], ssss=False)
    high = Shamir.split(threshold, n_shares, secret[HALF:], ssss=False)
    return [(index, first + second) for (index, first), (_, second) in zip(low, high, strict=True)]


def combine(shares: list[tuple[int, bytes]], threshold: int, what: str) -> bytes:
    """The secret behind `threshold` of `shares`; `SecAggError` naming `what` when fewer."""
    distinct = {index: value for index, value in shares}
    if len(distinct) < threshold:
        raise SecAggError(f"{what}: {len(distinct)} shares, {threshold} are needed")
    chosen = sorted(distinct.items())[:threshold]
    weights = _lagrange_at_zero(tuple(index for index, _ in chosen))
    return b"".join(_interpolate(weights, [value[start:start + HALF] for _, value in chosen])
                    for start in (0, HALF))


@lru_cache(maxsize=64)
def _lagrange_at_zero(indices: tuple[int, ...]) -> tuple[_Element, ...]:
    """l_j(0) = prod_{m != j} x_m / (x_j - x_m) in GF(2^128) (where minus is plus), as
    `Shamir.combine` computes them for every secret."""
    points = [_Element(index) for index in indices]
    weights = []
    for j, x_j in enumerate(points):
        numerator, denominator = _Element(1), _Element(1)
        for m, x_m in enumerate(points):
            if m != j:
                numerator *= x_m
                denominator *= x_j + x_m
        weights.append(numerator * denominator.inverse())
    return tuple(weights)


def _interpolate(weights: tuple[_Element, ...], halves: list[bytes]) -> bytes:
    """The 16-byte secret whose shares at the weights' indices are `halves`."""
    result = _Element(0)
    for weight, half in zip(weights, halves, strict=True):
        result += _Element(half) * weight
    return result.encode()


def _associated(context: bytes, sender: str, recipient: str) -> bytes:
    return context + b"|" + sender.encode() + b"|" + recipient.encode()


def seal(key: bytes, context: bytes, sender: str, recipient: str,
         key_share: tuple[int, bytes], seed_share: tuple[int, bytes]) -> str:
    """The sender's shares for `recipient`, AES-GCM encrypted under their pairwise `key`
    (bound to the session and both names) and base64-encoded: the server only relays it."""
    plain = json.dumps({"index": key_share[0], "key_share": encode_bytes(key_share[1]),
                        "seed_share": encode_bytes(seed_share[1])}).encode()
    nonce = os.urandom(NONCE_BYTES)
    return encode_bytes(nonce + AESGCM(key).encrypt(nonce, plain,
                                                    _associated(context, sender, recipient)))


def open_sealed(key: bytes, context: bytes, sender: str, recipient: str,
                ciphertext: object) -> tuple[int, bytes, bytes]:
    """`(index, key_share, seed_share)` from `sender`'s ciphertext; `SecAggError` naming the
    sender when it does not decrypt or decode."""
    raw = decode_bytes(ciphertext, f"the shares from {sender}")
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                    _associated(context, sender, recipient))
        body = json.loads(plain)
        index = body["index"]
        if not isinstance(index, int) or isinstance(index, bool):
            raise ValueError("index")
    except (InvalidTag, ValueError, KeyError, TypeError):
        raise SecAggError(f"the shares from {sender} do not decrypt for {recipient}") from None
    return (index, decode_bytes(body["key_share"], f"{sender}'s key share", SECRET_BYTES),
            decode_bytes(body["seed_share"], f"{sender}'s seed share", SECRET_BYTES))
