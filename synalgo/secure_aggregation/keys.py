"""X25519 key pairs and the HKDF-SHA256 derivation of pairwise secrets from them."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from synalgo.secure_aggregation.errors import SecAggError

KEY_BYTES = 32
MASK_LABEL = b"synergos-secagg-mask"
SHARE_LABEL = b"synergos-secagg-share-encryption"


@dataclass
class KeyPair:
    """One X25519 key pair; `secret()` is the raw private key (what Shamir shares)."""

    private: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)

    @classmethod
    def from_secret(cls, secret: bytes) -> KeyPair:
        """The key pair of a raw 32-byte private key."""
        return cls(X25519PrivateKey.from_private_bytes(secret))

    def secret(self) -> bytes:
        """The raw private key."""
        return self.private.private_bytes(serialization.Encoding.Raw,
                                          serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())

    def public(self) -> bytes:
        """The raw public key."""
        return self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)


def agree(own: KeyPair, peer_public: bytes, label: bytes, context: bytes) -> bytes:
    """A 32-byte key both ends derive: HKDF-SHA256 over the X25519 shared secret, bound to
    `label` (what the key is for) and `context` (the session)."""
    shared = own.private.exchange(X25519PublicKey.from_public_bytes(peer_public))
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=label + b"|" + context).derive(shared)


def encode_bytes(value: bytes) -> str:
    """Bytes as they travel in JSON (base64)."""
    return base64.b64encode(value).decode("ascii")


def decode_bytes(value: object, what: str, size: int | None = None,
                 max_size: int = 4096) -> bytes:
    """Base64 text from a peer, refused with `SecAggError` naming `what` unless it decodes to
    `size` bytes (or at most `max_size`)."""
    if not isinstance(value, str) or len(value) > 2 * max_size:
        raise SecAggError(f"{what} must be base64 text")
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise SecAggError(f"{what} is not valid base64") from None
    if (size is not None and len(raw) != size) or len(raw) > max_size:
        raise SecAggError(f"{what} has {len(raw)} bytes, expected {size or max_size}")
    return raw
