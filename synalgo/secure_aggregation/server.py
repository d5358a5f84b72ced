"""The server (TTP) half: collects each stage's messages and removes the masks from the sum.

It only relays ciphertexts and sees masked vectors; what it reconstructs is the survivors'
self-mask seeds and the dropped participants' mask keys, which together reveal only the sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synalgo.secure_aggregation import masks
from synalgo.secure_aggregation.errors import SecAggError
from synalgo.secure_aggregation.keys import MASK_LABEL, KeyPair, agree, encode_bytes
from synalgo.secure_aggregation.messages import check_mapping, public_keys, shares_of
from synalgo.secure_aggregation.params import SecAggParams
from synalgo.secure_aggregation.quantise import dequantise_sum
from synalgo.secure_aggregation.shares import combine


class SecAggServer:
    """One round on the server: `receive_*` per stage and participant, `*_message` to send.
    Each stage only admits participants that completed the one before."""

    def __init__(self, context: bytes, params: SecAggParams, length: int) -> None:
        self.context = context
        self.params = params
        self.length = length
        self.keys: dict[str, tuple[bytes, bytes]] = {}
        self.ciphertexts: dict[str, dict[str, str]] = {}
        self.masked: dict[str, np.ndarray] = {}
        self.unmasked: dict[str, dict[str, Any]] = {}
        self._alive: list[str] = []
        self._dropped: list[str] = []

    def _enough(self, present: int, stage: str) -> None:
        if present < self.params.threshold:
            raise SecAggError(f"{stage}: {present} participants answered, the threshold is "
                              f"{self.params.threshold}; too many dropped to recover the sum")

    # stage 1
    def receive_keys(self, participant_id: str, message: Any) -> None:
        """Keep one participant's public keys (refusing a key another participant uses)."""
        keys = public_keys(message, participant_id)
        if any(keys[1] == other[1] or keys[0] == other[0] for other in self.keys.values()):
            raise SecAggError(f"{participant_id} advertised a key another participant uses")
        self.keys[participant_id] = keys

    def roster_message(self) -> dict[str, Any]:
        """The public keys of everyone who advertised them (stage 2's request)."""
        self._enough(len(self.keys), "advertise keys")
        return {"threshold": self.params.threshold,
                "keys": {pid: {"c_pk": encode_bytes(c_pk), "s_pk": encode_bytes(s_pk)}
                         for pid, (c_pk, s_pk) in sorted(self.keys.items())}}

    # stage 2
    def receive_shares(self, participant_id: str, message: Any) -> None:
        """Keep one participant's ciphertexts, one for every other participant with keys."""
        if participant_id not in self.keys:
            raise SecAggError(f"{participant_id} sent shares without advertising keys")
        sealed = check_mapping(message.get("ciphertexts") if isinstance(message, dict)
                               else None, f"{participant_id}'s ciphertexts")
        expected = set(self.keys) - {participant_id}
        if set(sealed) != expected:
            raise SecAggError(f"{participant_id} sent shares for {sorted(sealed)}, expected "
                              f"{sorted(expected)}")
        if not all(isinstance(value, str) and len(value) < 4096 for value in sealed.values()):
            raise SecAggError(f"{participant_id}'s ciphertexts must be base64 text")
        self.ciphertexts[participant_id] = dict(sealed)

    def check_shared(self) -> None:
        """`SecAggError` unless enough participants shared keys to go on."""
        self._enough(len(self.ciphertexts), "share keys")

    def shares_message(self, recipient: str) -> dict[str, Any]:
        """Stage 3's request to `recipient`: the ciphertexts addressed to it by everyone
        else who shared keys."""
        self.check_shared()
        return {"ciphertexts": {sender: sealed[recipient]
                                for sender, sealed in sorted(self.ciphertexts.items())
                                if sender != recipient}}

    # stage 3
    def receive_masked(self, participant_id: str, vector: np.ndarray) -> None:
        """Keep one participant's masked vector (uint32, the model's length)."""
        if participant_id not in self.ciphertexts:
            raise SecAggError(f"{participant_id} sent a masked input without sharing keys")
        if vector.dtype != np.uint32 or vector.shape != (self.length,):
            raise SecAggError(f"{participant_id}'s masked input must be {self.length} uint32 "
                              f"values, not {vector.size} {vector.dtype}")
        self.masked[participant_id] = vector

    def unmask_message(self) -> dict[str, list[str]]:
        """Stage 4's request: who survived (sent a masked input) and who dropped after
        sharing keys."""
        self._enough(len(self.masked), "masked input")
        self._alive = sorted(self.masked)
        self._dropped = sorted(set(self.ciphertexts) - set(self.masked))
        return {"alive": list(self._alive), "dropped": list(self._dropped)}

    # stage 4
    def receive_unmask(self, participant_id: str, message: Any) -> None:
        """Keep one survivor's shares: seed shares of every survivor, key shares of every
        dropped participant."""
        if participant_id not in self._alive:
            raise SecAggError(f"{participant_id} sent unmasking shares but is not a survivor")
        self.unmasked[participant_id] = {
            "seed": shares_of(message, participant_id, "seed_shares", set(self._alive)),
            "key": shares_of(message, participant_id, "key_shares", set(self._dropped))}

    def result(self) -> tuple[np.ndarray, list[str]]:
        """The float sum of the survivors' clipped, quantised vectors, and the survivors."""
        self._enough(len(self.unmasked), "unmasking")
        index = {pid: position + 1 for position, pid in enumerate(sorted(self.keys))}
        total = np.zeros(self.length, dtype=np.uint32)
        for vector in self.masked.values():
            np.add(total, vector, out=total)
        for owner in self._alive:
            seed = combine([(index[helper], answer["seed"][owner])
                            for helper, answer in self.unmasked.items()],
                           self.params.threshold, f"the self-mask seed of {owner}")
            masks.apply(total, masks.keystream(seed, self.length), -1)
        for owner in self._dropped:
            secret = combine([(index[helper], answer["key"][owner])
                              for helper, answer in self.unmasked.items()],
                             self.params.threshold, f"the mask key of {owner}")
            keys = KeyPair.from_secret(secret)
            if keys.public() != self.keys[owner][1]:
                raise SecAggError(f"the shares of {owner}'s mask key do not reconstruct the "
                                  "key it advertised: a survivor sent a wrong share")
            for survivor in self._alive:
                seed = agree(keys, self.keys[survivor][1], MASK_LABEL, self.context)
                # the survivor applied sign(survivor, owner) * mask: take it back out
                masks.apply(total, masks.keystream(seed, self.length),
                            -masks.pairwise_sign(survivor, owner))
        return dequantise_sum(total, len(self._alive), self.params), list(self._alive)
