"""The client (Worker) half: one object per round, driven through the four stages."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from synalgo.secure_aggregation import masks
from synalgo.secure_aggregation.errors import SecAggError
from synalgo.secure_aggregation.keys import (
    MASK_LABEL,
    SHARE_LABEL,
    KeyPair,
    agree,
    encode_bytes,
)
from synalgo.secure_aggregation.messages import check_ids, check_mapping, public_keys
from synalgo.secure_aggregation.params import SecAggParams
from synalgo.secure_aggregation.quantise import quantise
from synalgo.secure_aggregation.shares import SECRET_BYTES, open_sealed, seal, split


class SecAggClient:
    """One participant's secrets for one round (`context` names the session: run and
    round, so nothing from another round is accepted)."""

    def __init__(self, participant_id: str, context: bytes, params: SecAggParams) -> None:
        self.participant_id = participant_id
        self.context = context
        self.params = params
        self.cipher_keys = KeyPair()  # encrypts shares to peers
        self.mask_keys = KeyPair()  # agrees the pairwise masks
        self.seed = os.urandom(SECRET_BYTES)  # the self-mask seed
        self.roster: dict[str, tuple[bytes, bytes]] = {}
        self.received: dict[str, tuple[int, bytes, bytes]] = {}
        self.masked_with: list[str] = []

    # stage 1
    def advertise(self) -> dict[str, str]:
        """The two public keys."""
        return {"c_pk": encode_bytes(self.cipher_keys.public()),
                "s_pk": encode_bytes(self.mask_keys.public())}

    # stage 2
    def share_keys(self, message: dict[str, Any]) -> dict[str, dict[str, str]]:
        """Check the roster of public keys and answer each peer's encrypted shares."""
        keys = check_mapping(message.get("keys") if isinstance(message, dict) else None,
                             "keys")
        if message.get("threshold") != self.params.threshold:
            raise SecAggError(f"the server's threshold {message.get('threshold')!r} is not "
                              f"this run's {self.params.threshold}")
        if len(keys) < self.params.threshold:
            raise SecAggError(f"{len(keys)} participants advertised keys, fewer than the "
                              f"threshold {self.params.threshold}")
        if len(keys) > self.params.n_clients:
            raise SecAggError(f"{len(keys)} participants advertised keys, the run has "
                              f"{self.params.n_clients}")
        roster = {pid: public_keys(entry, pid) for pid, entry in keys.items()}
        if roster.get(self.participant_id) != (self.cipher_keys.public(),
                                               self.mask_keys.public()):
            raise SecAggError(f"the roster does not carry {self.participant_id}'s own keys")
        self.roster = roster
        order = sorted(roster)
        n = len(order)
        key_shares = split(self.mask_keys.secret(), self.params.threshold, n)
        seed_shares = split(self.seed, self.params.threshold, n)
        sealed = {}
        for position, peer in enumerate(order):
            if peer == self.participant_id:
                self.received[peer] = (key_shares[position][0], key_shares[position][1],
                                       seed_shares[position][1])
                continue
            key = agree(self.cipher_keys, roster[peer][0], SHARE_LABEL, self.context)
            sealed[peer] = seal(key, self.context, self.participant_id, peer,
                                key_shares[position], seed_shares[position])
        return {"ciphertexts": sealed}

    # stage 3
    def masked_input(self, message: dict[str, Any], values: np.ndarray,
                     generator: np.random.Generator | None = None) -> np.ndarray:
        """Decrypt the shares the peers sent, then quantise `values` and mask them with the
        self-mask and one pairwise mask per peer that sent shares."""
        if not self.roster:
            raise SecAggError("masked input asked before the keys were shared")
        ciphertexts = check_mapping(message.get("ciphertexts") if isinstance(message, dict)
                                    else None, "ciphertexts")
        unknown = sorted(set(ciphertexts) - set(self.roster))
        if unknown or self.participant_id in ciphertexts:
            raise SecAggError(f"shares from participants not in the roster: "
                              f"{unknown or [self.participant_id]}")
        if len(ciphertexts) + 1 < self.params.threshold:
            raise SecAggError(f"{len(ciphertexts) + 1} participants shared keys, fewer than "
                              f"the threshold {self.params.threshold}")
        position = sorted(self.roster).index(self.participant_id) + 1
        for sender, sealed in ciphertexts.items():
            key = agree(self.cipher_keys, self.roster[sender][0], SHARE_LABEL, self.context)
            opened = open_sealed(key, self.context, sender, self.participant_id, sealed)
            if opened[0] != position:
                raise SecAggError(f"the shares from {sender} carry index {opened[0]}, "
                                  f"this participant's is {position}")
            self.received[sender] = opened
        self.masked_with = sorted(ciphertexts)
        vector = quantise(values, self.params, generator)
        masks.apply(vector, masks.keystream(self.seed, vector.size), 1)
        for peer in self.masked_with:
            seed = agree(self.mask_keys, self.roster[peer][1], MASK_LABEL, self.context)
            masks.apply(vector, masks.keystream(seed, vector.size),
                        masks.pairwise_sign(self.participant_id, peer))
        return vector

    # stage 4
    def unmask(self, message: dict[str, Any]) -> dict[str, dict[str, str]]:
        """The seed shares of the survivors and the mask-key shares of the dropped; refuses
        a request that lists a peer as both, or that does not add up to who shared keys."""
        if not self.masked_with:
            raise SecAggError("unmasking asked before the masked input was sent")
        request = message if isinstance(message, dict) else {}
        alive = check_ids(request.get("alive"), "alive")
        dropped = check_ids(request.get("dropped"), "dropped")
        both = sorted(set(alive) & set(dropped))
        if both:
            raise SecAggError(f"refused: {', '.join(both)} listed as both alive and dropped")
        expected = set(self.masked_with) | {self.participant_id}
        if set(alive) | set(dropped) != expected:
            raise SecAggError(f"alive and dropped must be exactly the participants that "
                              f"shared keys: {sorted(expected)}")
        if self.participant_id not in alive:
            raise SecAggError(f"{self.participant_id} is listed as dropped")
        if len(alive) < self.params.threshold:
            raise SecAggError(f"{len(alive)} survivors, fewer than the threshold "
                              f"{self.params.threshold}")
        return {"seed_shares": {pid: encode_bytes(self.received[pid][2]) for pid in alive},
                "key_shares": {pid: encode_bytes(self.received[pid][1]) for pid in dropped}}
