"""The JSON messages of the four stages, and the checks on what a peer sends.

Stage 1 (advertise keys), client -> server: `{"c_pk", "s_pk"}` (base64 X25519 keys).
Stage 2 (share keys), server -> client: `{"keys": {id: {"c_pk", "s_pk"}}, "threshold"}`;
client -> server `{"ciphertexts": {peer: base64}}`.
Stage 3 (masked input), server -> client `{"ciphertexts": {sender: base64}}`; the client
answers its masked vector (uint32 modulo 2^32).
Stage 4 (unmasking), server -> client `{"alive": [ids], "dropped": [ids]}`; client -> server
`{"seed_shares": {alive id: base64}, "key_shares": {dropped id: base64}}`.
"""

from __future__ import annotations

from typing import Any

from synalgo.secure_aggregation.errors import SecAggError
from synalgo.secure_aggregation.keys import KEY_BYTES, decode_bytes
from synalgo.secure_aggregation.shares import SECRET_BYTES

MAX_PARTICIPANTS = 1024
MAX_ID_LENGTH = 200


def check_ids(value: Any, what: str) -> list[str]:
    """A list of distinct participant ids, or `SecAggError` naming `what`."""
    if (not isinstance(value, list) or len(value) > MAX_PARTICIPANTS
            or not all(isinstance(item, str) and 0 < len(item) <= MAX_ID_LENGTH
                       for item in value)):
        raise SecAggError(f"{what} must be a list of participant ids")
    if len(set(value)) != len(value):
        raise SecAggError(f"{what} lists a participant twice")
    return list(value)


def check_mapping(value: Any, what: str) -> dict[str, Any]:
    """An object keyed by participant ids, or `SecAggError` naming `what`."""
    if not isinstance(value, dict) or len(value) > MAX_PARTICIPANTS:
        raise SecAggError(f"{what} must be an object keyed by participant id")
    check_ids(list(value), what)
    return value


def public_keys(message: Any, sender: str) -> tuple[bytes, bytes]:
    """`(c_pk, s_pk)` of a stage-1 message from `sender`."""
    if not isinstance(message, dict):
        raise SecAggError(f"{sender}'s keys must be an object with c_pk and s_pk")
    return (decode_bytes(message.get("c_pk"), f"{sender}'s c_pk", KEY_BYTES),
            decode_bytes(message.get("s_pk"), f"{sender}'s s_pk", KEY_BYTES))


def shares_of(message: Any, sender: str, field: str, owners: set[str]) -> dict[str, bytes]:
    """The 32-byte shares under `field` of a stage-4 message, which must cover `owners`."""
    if not isinstance(message, dict):
        raise SecAggError(f"{sender}'s unmasking answer must be an object")
    shares = check_mapping(message.get(field), f"{sender}'s {field}")
    if set(shares) != owners:
        raise SecAggError(f"{sender}'s {field} cover {sorted(shares)}, expected {sorted(owners)}")
    return {owner: decode_bytes(value, f"{sender}'s {field}[{owner}]", SECRET_BYTES)
            for owner, value in shares.items()}
